//! The schema of the `police` datasource as the police plugins read it, and the fixed records of
//! the synthetic demo database (`jingxun demo-data`). The generator creates exactly these
//! tables, so the plugins and the generator cannot drift apart; plugins/README.md documents them.
//!
//! Dates are ISO text (`YYYY-MM-DD`); `valid_until` may also be `长期` (no expiry). The DDL is
//! plain SQL that SQLite and PostgreSQL both accept.

/// `CREATE` statements of the datasource, in order.
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE persons (
        id_number   TEXT PRIMARY KEY,   -- 18 characters, GB 11643, upper-case X
        name        TEXT NOT NULL,
        sex         TEXT NOT NULL,      -- 男 or 女
        birth_date  TEXT NOT NULL,      -- YYYY-MM-DD, as in the ID number
        address     TEXT NOT NULL,
        issued_by   TEXT NOT NULL,      -- issuing public security bureau
        valid_from  TEXT NOT NULL,
        valid_until TEXT NOT NULL       -- YYYY-MM-DD or 长期
    )",
    "CREATE INDEX persons_name ON persons (name)",
    "CREATE TABLE vehicles (
        plate             TEXT PRIMARY KEY, -- normalised, e.g. 京A12345
        owner_name        TEXT NOT NULL,
        owner_id          TEXT NOT NULL,    -- the owner's ID number (persons.id_number)
        model             TEXT NOT NULL,    -- brand and model, e.g. 大众帕萨特
        colour            TEXT NOT NULL,    -- 白, 黑, ...
        registered_on     TEXT NOT NULL,
        inspection_due    TEXT NOT NULL,    -- annual inspection valid until
        inspection_status TEXT NOT NULL,    -- 正常, 逾期未检验, 报废
        unpaid_fines      INTEGER NOT NULL, -- yuan
        violations        INTEGER NOT NULL  -- unprocessed traffic violations
    )",
    "CREATE INDEX vehicles_owner_name ON vehicles (owner_name)",
    "CREATE INDEX vehicles_owner_id ON vehicles (owner_id)",
    "CREATE TABLE licences (
        licence_no  TEXT PRIMARY KEY,   -- the holder's ID number
        name        TEXT NOT NULL,
        id_number   TEXT NOT NULL,
        classes     TEXT NOT NULL,      -- permitted classes, e.g. C1 or A2,D
        points      INTEGER NOT NULL,   -- penalty points in the current 12-month cycle (of 12)
        valid_from  TEXT NOT NULL,
        valid_until TEXT NOT NULL,      -- YYYY-MM-DD or 长期
        status      TEXT NOT NULL       -- 正常, 超分, 逾期未审验, 暂扣, 吊销, 注销
    )",
    "CREATE INDEX licences_name ON licences (name)",
    "CREATE INDEX licences_id_number ON licences (id_number)",
    "CREATE TABLE wanted (
        id           INTEGER PRIMARY KEY,
        name         TEXT NOT NULL,
        id_number    TEXT,              -- NULL when unknown
        case_summary TEXT NOT NULL,     -- e.g. 涉嫌诈骗罪
        issuing_unit TEXT NOT NULL,
        issued_on    TEXT NOT NULL,
        level        TEXT NOT NULL      -- A级, B级, 网上追逃
    )",
    "CREATE INDEX wanted_name ON wanted (name)",
    "CREATE TABLE exit_entry (
        id          INTEGER PRIMARY KEY,
        id_number   TEXT NOT NULL,      -- the traveller (persons.id_number)
        name        TEXT NOT NULL,
        direction   TEXT NOT NULL,      -- 出境 or 入境
        crossed_on  TEXT NOT NULL,      -- YYYY-MM-DD
        port        TEXT NOT NULL,      -- the border crossing, e.g. 北京首都国际机场
        place       TEXT NOT NULL,      -- country or region travelled to or from
        document    TEXT NOT NULL       -- 护照, 往来港澳通行证, 往来台湾通行证
    )",
    "CREATE INDEX exit_entry_id_number ON exit_entry (id_number)",
];

/// Fixed records every demo database contains, for demonstrations and tests.
pub mod demo {
    /// A plate that is always present (`CP 京A12345`).
    pub const PLATE: &str = "京A12345";
    /// The owner of [`PLATE`], also present in `persons` and `licences`.
    pub const OWNER_NAME: &str = "李明";
    /// [`OWNER_NAME`]'s ID number, which is also his licence number (`SFZ`/`JZ`).
    pub const OWNER_ID: &str = "110105198503120039";
    /// A licence that is always present (`JZ 110105198503120039`).
    pub const LICENCE_NO: &str = OWNER_ID;
    /// A second person always present (`SFZ 310104199207150028`, 王芳).
    pub const ID_NUMBER: &str = "310104199207150028";
    /// Her name.
    pub const ID_NAME: &str = "王芳";
    /// A name with exactly two wanted records (`ZT 张伟`).
    pub const WANTED_TWICE: &str = "张伟";
    /// The two ID numbers of [`WANTED_TWICE`].
    pub const WANTED_TWICE_IDS: [&str; 2] = ["110108197908220016", "320102198801300038"];
    /// A name with seven wanted records, more than a reply lists (`ZT 刘洋`).
    pub const WANTED_MANY: &str = "刘洋";
    /// How many wanted records [`WANTED_MANY`] has.
    pub const WANTED_MANY_COUNT: usize = 7;
    /// A plate that is never present (R8's example).
    pub const ABSENT_PLATE: &str = "京Z99999";
    /// A well-formed ID number (valid check digit) that is never present.
    pub const ABSENT_ID_NUMBER: &str = "110101199003078515";
    /// A name that never appears anywhere (its surname is not in the generator's list).
    pub const ABSENT_NAME: &str = "司马光";
    /// How many exit/entry records [`OWNER_ID`] has (`CRJ 110105198503120039`): two trips.
    pub const OWNER_CROSSINGS: usize = 4;
    /// A person always present with no exit/entry record ([`ID_NUMBER`]).
    pub const NEVER_CROSSED: &str = ID_NUMBER;
}

#[cfg(test)]
mod tests {
    use super::demo;
    use crate::id_number;

    #[test]
    fn fixed_demo_id_numbers_have_valid_check_digits() {
        for number in [
            demo::OWNER_ID,
            demo::ID_NUMBER,
            demo::ABSENT_ID_NUMBER,
            demo::WANTED_TWICE_IDS[0],
            demo::WANTED_TWICE_IDS[1],
        ] {
            assert!(id_number::parse(number).is_ok(), "{number}");
        }
    }

    #[test]
    fn fixed_demo_plates_are_well_formed() {
        assert_eq!(
            crate::plate::normalise(demo::PLATE).as_deref(),
            Ok(demo::PLATE)
        );
        assert_eq!(
            crate::plate::normalise(demo::ABSENT_PLATE).as_deref(),
            Ok(demo::ABSENT_PLATE)
        );
    }
}
