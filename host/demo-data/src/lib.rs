//! The synthetic `police` datasource for demonstrations and tests (`jingxun demo-data`, and the
//! embedded defaults of `jingxun serve`), a crate of its own so that the daemon library holds
//! no demonstration code.
//!
//! [`generate`] builds thousands of plausible but invented records (common Chinese names,
//! real region codes and addresses, plates, 18-digit ID numbers with valid GB 11643 check digits
//! and birth dates that agree with them), deterministically from a seed;
//! [`write_demo_database`] writes them into a new SQLite file with the schema the four police
//! plugins read ([`police_common::schema::SCHEMA`], documented in plugins/README.md).
//!
//! Every database contains the fixed records of [`police_common::schema::demo`] (plate 京A12345
//! and its owner, a licence, an ID number, a name wanted twice and one wanted seven times) and
//! never contains the documented absent values (plate 京Z99999, ...). Statuses (inspection
//! overdue, licence valid) are computed as of the fixed date [`AS_OF`], so that the same seed
//! always gives the same file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Days, Months, NaiveDate};
use police_common::id_number::{self, Sex};
use police_common::schema::{SCHEMA, demo};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Connection, SqliteConnection};

/// The seed `jingxun demo-data` and the embedded default start use unless told otherwise.
pub const DEFAULT_SEED: u64 = 20_260_101;

/// The date the generated statuses refer to (inspection overdue, licence period, ...).
pub const AS_OF: (i32, u32, u32) = (2026, 11, 1);

/// How many records of each kind to generate (fixed records included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoCounts {
    /// Rows of `persons` (at least the fixed ones).
    pub persons: usize,
    /// Rows of `vehicles`.
    pub vehicles: usize,
    /// Rows of `licences` (at most the adult persons).
    pub licences: usize,
    /// Rows of `wanted`.
    pub wanted: usize,
}

impl Default for DemoCounts {
    fn default() -> Self {
        DemoCounts {
            persons: 5_000,
            vehicles: 3_000,
            licences: 2_000,
            wanted: 200,
        }
    }
}

/// One row of `persons`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id_number: String,
    pub name: String,
    /// `男` or `女`.
    pub sex: String,
    pub birth_date: String,
    pub address: String,
    pub issued_by: String,
    pub valid_from: String,
    /// A date or `长期`.
    pub valid_until: String,
}

/// One row of `vehicles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vehicle {
    pub plate: String,
    pub owner_name: String,
    pub owner_id: String,
    pub model: String,
    pub colour: String,
    pub registered_on: String,
    pub inspection_due: String,
    pub inspection_status: String,
    /// Yuan.
    pub unpaid_fines: i64,
    pub violations: i64,
}

/// One row of `licences`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    pub licence_no: String,
    pub name: String,
    pub id_number: String,
    pub classes: String,
    pub points: i64,
    pub valid_from: String,
    /// A date or `长期`.
    pub valid_until: String,
    pub status: String,
}

/// One row of `wanted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub id: i64,
    pub name: String,
    /// `None` when the person's ID number is unknown.
    pub id_number: Option<String>,
    pub case_summary: String,
    pub issuing_unit: String,
    pub issued_on: String,
    pub level: String,
}

/// One row of `exit_entry`: a border crossing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crossing {
    pub id: i64,
    pub id_number: String,
    pub name: String,
    /// `出境` or `入境`.
    pub direction: String,
    pub crossed_on: String,
    pub port: String,
    /// The country or region travelled to (出境) or from (入境).
    pub place: String,
    pub document: String,
}

/// A whole generated datasource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoData {
    pub persons: Vec<Person>,
    pub vehicles: Vec<Vehicle>,
    pub licences: Vec<Licence>,
    pub wanted: Vec<Wanted>,
    pub crossings: Vec<Crossing>,
}

/// A query to try on the demo data and what it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoQuery {
    /// The SMS text, e.g. `CP 京A12345`.
    pub command: String,
    /// What the reply shows.
    pub expect: String,
}

/// What [`write_demo_database`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// The database file.
    pub path: PathBuf,
    /// The seed it was generated from.
    pub seed: u64,
    /// Row counts.
    pub persons: usize,
    pub vehicles: usize,
    pub licences: usize,
    pub wanted: usize,
    pub crossings: usize,
    /// The fixed records, as queries to try.
    pub queries: Vec<DemoQuery>,
}

/// Why the demo database could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoDataError {
    /// The target exists and overwriting was not asked for.
    #[error("{0} already exists; choose another path or pass --force to replace it")]
    Exists(PathBuf),
    /// The directory or a temporary file could not be used.
    #[error("cannot write the demo database at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused a statement.
    #[error("cannot fill the demo database at {path}: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    /// The requested counts cannot be met (e.g. more licences than adults).
    #[error("cannot generate the demo data: {0}")]
    Counts(String),
}

/// Writes a new demo database at `path` with the default counts; refuses to replace an
/// existing file.
pub async fn write_demo_database(path: &Path, seed: u64) -> Result<DemoSummary, DemoDataError> {
    write_demo_database_with(path, seed, DemoCounts::default(), false).await
}

/// Writes a demo database at `path`; replaces an existing file only when `overwrite` is set.
/// The file is built under a temporary name in the same directory and moved into place at the
/// end, so a reader never sees a half-written database and an existing file is never clobbered
/// by accident (the final move refuses to replace unless `overwrite`).
pub async fn write_demo_database_with(
    path: &Path,
    seed: u64,
    counts: DemoCounts,
    overwrite: bool,
) -> Result<DemoSummary, DemoDataError> {
    if !overwrite && path.exists() {
        return Err(DemoDataError::Exists(path.to_owned()));
    }
    let data = generate(seed, counts)?;
    let io_error = |source| DemoDataError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".jingxun-demo-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(io_error)?;
    write_rows(temp.path(), &data)
        .await
        .map_err(|source| DemoDataError::Database {
            path: path.to_owned(),
            source,
        })?;
    let persisted = if overwrite {
        temp.persist(path)
    } else {
        temp.persist_noclobber(path)
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            DemoDataError::Exists(path.to_owned())
        } else {
            io_error(e.error)
        }
    })?;
    tracing::info!(path = %path.display(), seed, "demo police datasource written");
    Ok(DemoSummary {
        path: path.to_owned(),
        seed,
        persons: data.persons.len(),
        vehicles: data.vehicles.len(),
        licences: data.licences.len(),
        wanted: data.wanted.len(),
        crossings: data.crossings.len(),
        queries: demo_queries(),
    })
}

/// Creates the schema in the (empty) SQLite file at `path` and inserts every row in one
/// transaction.
async fn write_rows(path: &Path, data: &DemoData) -> Result<(), sqlx::Error> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        // One self-contained file: no -wal/-shm companions to move along with it.
        .journal_mode(SqliteJournalMode::Delete);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let mut tx = conn.begin().await?;
    for statement in SCHEMA {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    for p in &data.persons {
        sqlx::query(
            "INSERT INTO persons (id_number, name, sex, birth_date, address, issued_by, \
             valid_from, valid_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&p.id_number)
        .bind(&p.name)
        .bind(&p.sex)
        .bind(&p.birth_date)
        .bind(&p.address)
        .bind(&p.issued_by)
        .bind(&p.valid_from)
        .bind(&p.valid_until)
        .execute(&mut *tx)
        .await?;
    }
    for v in &data.vehicles {
        sqlx::query(
            "INSERT INTO vehicles (plate, owner_name, owner_id, model, colour, registered_on, \
             inspection_due, inspection_status, unpaid_fines, violations) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&v.plate)
        .bind(&v.owner_name)
        .bind(&v.owner_id)
        .bind(&v.model)
        .bind(&v.colour)
        .bind(&v.registered_on)
        .bind(&v.inspection_due)
        .bind(&v.inspection_status)
        .bind(v.unpaid_fines)
        .bind(v.violations)
        .execute(&mut *tx)
        .await?;
    }
    for l in &data.licences {
        sqlx::query(
            "INSERT INTO licences (licence_no, name, id_number, classes, points, valid_from, \
             valid_until, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&l.licence_no)
        .bind(&l.name)
        .bind(&l.id_number)
        .bind(&l.classes)
        .bind(l.points)
        .bind(&l.valid_from)
        .bind(&l.valid_until)
        .bind(&l.status)
        .execute(&mut *tx)
        .await?;
    }
    for w in &data.wanted {
        sqlx::query(
            "INSERT INTO wanted (id, name, id_number, case_summary, issuing_unit, issued_on, \
             level) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(w.id)
        .bind(&w.name)
        .bind(&w.id_number)
        .bind(&w.case_summary)
        .bind(&w.issuing_unit)
        .bind(&w.issued_on)
        .bind(&w.level)
        .execute(&mut *tx)
        .await?;
    }
    for c in &data.crossings {
        sqlx::query(
            "INSERT INTO exit_entry (id, id_number, name, direction, crossed_on, port, place, \
             document) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.id)
        .bind(&c.id_number)
        .bind(&c.name)
        .bind(&c.direction)
        .bind(&c.crossed_on)
        .bind(&c.port)
        .bind(&c.place)
        .bind(&c.document)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    conn.close().await
}

/// The fixed records as queries to try, with what each answers.
pub fn demo_queries() -> Vec<DemoQuery> {
    let q = |command: String, expect: &str| DemoQuery {
        command,
        expect: expect.to_owned(),
    };
    vec![
        q(
            format!("CP {}", demo::PLATE),
            "李明的黑色大众帕萨特，年检正常，未处理违法1起、罚款200元",
        ),
        q(format!("CP {}", demo::ABSENT_PLATE), "车牌京Z99999不存在。"),
        q(
            format!("JZ {}", demo::LICENCE_NO),
            "李明的驾驶证，C1，记分3，有效期至2031-06-01",
        ),
        q(
            format!("SFZ {}", demo::ID_NUMBER),
            "王芳，女，1992-07-15，上海市徐汇区",
        ),
        q(
            format!("SFZ {}", demo::ABSENT_ID_NUMBER),
            "身份证110101199003078515不存在。",
        ),
        q(format!("ZT {}", demo::WANTED_TWICE), "两名在逃人员张伟"),
        q(
            format!("ZT {}", demo::WANTED_MANY),
            "七名在逃人员刘洋，列出5名，另有2人未列出",
        ),
        q(format!("ZT {}", demo::ABSENT_NAME), "姓名 司马光不存在。"),
        q(
            format!("CRJ {}", demo::OWNER_ID),
            "李明的出入境记录4条，最近一条：2026-07-17 入境 深圳湾口岸 自香港",
        ),
        q(
            format!("CRJ {}", demo::NEVER_CROSSED),
            "出入境记录310104199207150028不存在。",
        ),
    ]
}

/// A region: a real six-digit administrative code with its address, ID-card issuing bureau,
/// plate prefix and the city's public security bureau.
struct Region {
    code: &'static str,
    place: &'static str,
    bureau: &'static str,
    province: char,
    plate_letters: &'static str,
    city_bureau: &'static str,
}

const REGIONS: &[Region] = &[
    Region {
        code: "110101",
        place: "北京市东城区",
        bureau: "北京市公安局东城分局",
        province: '京',
        plate_letters: "ABCEFGHJKLMNPQ",
        city_bureau: "北京市公安局",
    },
    Region {
        code: "110102",
        place: "北京市西城区",
        bureau: "北京市公安局西城分局",
        province: '京',
        plate_letters: "ABCEFGHJKLMNPQ",
        city_bureau: "北京市公安局",
    },
    Region {
        code: "110105",
        place: "北京市朝阳区",
        bureau: "北京市公安局朝阳分局",
        province: '京',
        plate_letters: "ABCEFGHJKLMNPQ",
        city_bureau: "北京市公安局",
    },
    Region {
        code: "110108",
        place: "北京市海淀区",
        bureau: "北京市公安局海淀分局",
        province: '京',
        plate_letters: "ABCEFGHJKLMNPQ",
        city_bureau: "北京市公安局",
    },
    Region {
        code: "120101",
        place: "天津市和平区",
        bureau: "天津市公安局和平分局",
        province: '津',
        plate_letters: "ABCDEFGH",
        city_bureau: "天津市公安局",
    },
    Region {
        code: "310101",
        place: "上海市黄浦区",
        bureau: "上海市公安局黄浦分局",
        province: '沪',
        plate_letters: "ABCDEFGHJKLMN",
        city_bureau: "上海市公安局",
    },
    Region {
        code: "310104",
        place: "上海市徐汇区",
        bureau: "上海市公安局徐汇分局",
        province: '沪',
        plate_letters: "ABCDEFGHJKLMN",
        city_bureau: "上海市公安局",
    },
    Region {
        code: "310115",
        place: "上海市浦东新区",
        bureau: "上海市公安局浦东分局",
        province: '沪',
        plate_letters: "ABCDEFGHJKLMN",
        city_bureau: "上海市公安局",
    },
    Region {
        code: "500103",
        place: "重庆市渝中区",
        bureau: "重庆市公安局渝中区分局",
        province: '渝',
        plate_letters: "ABD",
        city_bureau: "重庆市公安局",
    },
    Region {
        code: "130102",
        place: "河北省石家庄市长安区",
        bureau: "石家庄市公安局长安分局",
        province: '冀',
        plate_letters: "A",
        city_bureau: "石家庄市公安局",
    },
    Region {
        code: "210102",
        place: "辽宁省沈阳市和平区",
        bureau: "沈阳市公安局和平分局",
        province: '辽',
        plate_letters: "A",
        city_bureau: "沈阳市公安局",
    },
    Region {
        code: "320102",
        place: "江苏省南京市玄武区",
        bureau: "南京市公安局玄武分局",
        province: '苏',
        plate_letters: "A",
        city_bureau: "南京市公安局",
    },
    Region {
        code: "320508",
        place: "江苏省苏州市姑苏区",
        bureau: "苏州市公安局姑苏分局",
        province: '苏',
        plate_letters: "E",
        city_bureau: "苏州市公安局",
    },
    Region {
        code: "330106",
        place: "浙江省杭州市西湖区",
        bureau: "杭州市公安局西湖区分局",
        province: '浙',
        plate_letters: "A",
        city_bureau: "杭州市公安局",
    },
    Region {
        code: "350203",
        place: "福建省厦门市思明区",
        bureau: "厦门市公安局思明分局",
        province: '闽',
        plate_letters: "D",
        city_bureau: "厦门市公安局",
    },
    Region {
        code: "370102",
        place: "山东省济南市历下区",
        bureau: "济南市公安局历下区分局",
        province: '鲁',
        plate_letters: "A",
        city_bureau: "济南市公安局",
    },
    Region {
        code: "370202",
        place: "山东省青岛市市南区",
        bureau: "青岛市公安局市南分局",
        province: '鲁',
        plate_letters: "B",
        city_bureau: "青岛市公安局",
    },
    Region {
        code: "410105",
        place: "河南省郑州市金水区",
        bureau: "郑州市公安局金水分局",
        province: '豫',
        plate_letters: "A",
        city_bureau: "郑州市公安局",
    },
    Region {
        code: "420102",
        place: "湖北省武汉市江岸区",
        bureau: "武汉市公安局江岸区分局",
        province: '鄂',
        plate_letters: "A",
        city_bureau: "武汉市公安局",
    },
    Region {
        code: "430102",
        place: "湖南省长沙市芙蓉区",
        bureau: "长沙市公安局芙蓉分局",
        province: '湘',
        plate_letters: "A",
        city_bureau: "长沙市公安局",
    },
    Region {
        code: "440103",
        place: "广东省广州市荔湾区",
        bureau: "广州市公安局荔湾区分局",
        province: '粤',
        plate_letters: "A",
        city_bureau: "广州市公安局",
    },
    Region {
        code: "440106",
        place: "广东省广州市天河区",
        bureau: "广州市公安局天河区分局",
        province: '粤',
        plate_letters: "A",
        city_bureau: "广州市公安局",
    },
    Region {
        code: "440304",
        place: "广东省深圳市福田区",
        bureau: "深圳市公安局福田分局",
        province: '粤',
        plate_letters: "B",
        city_bureau: "深圳市公安局",
    },
    Region {
        code: "510104",
        place: "四川省成都市锦江区",
        bureau: "成都市公安局锦江区分局",
        province: '川',
        plate_letters: "A",
        city_bureau: "成都市公安局",
    },
    Region {
        code: "530102",
        place: "云南省昆明市五华区",
        bureau: "昆明市公安局五华分局",
        province: '云',
        plate_letters: "A",
        city_bureau: "昆明市公安局",
    },
    Region {
        code: "610113",
        place: "陕西省西安市雁塔区",
        bureau: "西安市公安局雁塔分局",
        province: '陕',
        plate_letters: "A",
        city_bureau: "西安市公安局",
    },
];

/// Common surnames, most frequent first (the generator favours the head of the list).
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯",
    "龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "武", "戴", "孔",
];

/// Characters of men's given names.
const MALE_CHARS: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞",
    "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "林", "阳", "建", "国", "峰",
    "志", "文", "东", "海", "亮", "成", "晨", "博", "昊", "然", "轩", "航", "泽", "睿", "毅", "新",
];

/// Characters of women's given names.
const FEMALE_CHARS: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "英", "慧", "巧", "美", "玲", "婷", "雪",
    "琳", "晶", "燕", "红", "梅", "莉", "兰", "凤", "洁", "琴", "云", "颖", "倩", "欣", "悦", "怡",
    "佳", "萱", "涵", "诗", "雨", "梦", "思", "璐", "丹", "萍", "玉", "月", "晓", "春", "桂", "文",
];

const STREETS: &[&str] = &[
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "和平路",
    "胜利街",
    "文化路",
    "光明路",
    "新华路",
    "长江路",
    "黄河路",
    "朝阳路",
    "青年路",
    "学院路",
    "北京路",
    "南京路",
    "幸福街",
    "团结路",
    "东风路",
    "友谊路",
];

const MODELS: &[&str] = &[
    "大众朗逸",
    "大众帕萨特",
    "大众速腾",
    "丰田卡罗拉",
    "丰田凯美瑞",
    "本田雅阁",
    "本田思域",
    "日产轩逸",
    "别克英朗",
    "别克GL8",
    "哈弗H6",
    "吉利帝豪",
    "长安CS75",
    "比亚迪秦PLUS",
    "比亚迪宋PLUS",
    "特斯拉Model 3",
    "宝马3系",
    "奥迪A4L",
    "奔驰C级",
    "五菱宏光",
    "红旗H5",
    "理想L7",
    "蔚来ES6",
    "福特福克斯",
];

const COLOURS: &[&str] = &[
    "白", "白", "白", "黑", "黑", "银", "灰", "红", "蓝", "棕", "绿",
];

const CASES: &[&str] = &[
    "涉嫌诈骗罪",
    "涉嫌盗窃罪",
    "涉嫌故意伤害罪",
    "涉嫌抢劫罪",
    "涉嫌贩卖毒品罪",
    "涉嫌非法吸收公众存款罪",
    "涉嫌合同诈骗罪",
    "涉嫌开设赌场罪",
    "涉嫌交通肇事罪",
    "涉嫌寻衅滋事罪",
    "涉嫌帮助信息网络犯罪活动罪",
    "涉嫌故意杀人罪",
    "涉嫌职务侵占罪",
    "涉嫌组织他人偷越国（边）境罪",
];

const UNITS: &[&str] = &[
    "刑事侦查支队",
    "经济犯罪侦查支队",
    "禁毒支队",
    "网络安全保卫支队",
];

/// Where travellers go, through which crossing, with which document.
const TRIPS: &[(&str, &str, &str)] = &[
    ("日本", "北京首都国际机场", "护照"),
    ("泰国", "上海浦东国际机场", "护照"),
    ("韩国", "上海浦东国际机场", "护照"),
    ("新加坡", "广州白云国际机场", "护照"),
    ("美国", "北京首都国际机场", "护照"),
    ("香港", "深圳湾口岸", "往来港澳通行证"),
    ("香港", "罗湖口岸", "往来港澳通行证"),
    ("澳门", "拱北口岸", "往来港澳通行证"),
    ("台湾", "厦门高崎国际机场", "往来台湾通行证"),
    ("越南", "友谊关口岸", "护照"),
];

/// Letters used in plate serials (I and O are never issued: they read as 1 and 0).
const PLATE_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Generates the demo data for `seed`: the fixed records first, then random ones up to `counts`.
pub fn generate(seed: u64, counts: DemoCounts) -> Result<DemoData, DemoDataError> {
    let mut g = Generator {
        rng: StdRng::seed_from_u64(seed),
        ids: HashSet::from([demo::ABSENT_ID_NUMBER.to_owned()]),
        as_of: date(AS_OF.0, AS_OF.1, AS_OF.2),
    };
    let mut persons = fixed_persons();
    if counts.persons < persons.len() + demo::WANTED_MANY_COUNT {
        return Err(DemoDataError::Counts(format!(
            "at least {} persons are needed for the fixed records",
            persons.len() + demo::WANTED_MANY_COUNT
        )));
    }
    g.ids.extend(persons.iter().map(|p| p.id_number.clone()));
    // The people wanted under the shared name WANTED_MANY are persons too (so SFZ finds them).
    for _ in 0..demo::WANTED_MANY_COUNT {
        let mut person = g.person();
        person.name = demo::WANTED_MANY.to_owned();
        persons.push(person);
    }
    while persons.len() < counts.persons {
        let person = g.person();
        persons.push(person);
    }
    let vehicles = g.vehicles(&persons, counts.vehicles);
    let licences = g.licences(&persons, counts.licences)?;
    let wanted = g.wanted(&persons, counts.wanted);
    let crossings = g.crossings(&persons);
    Ok(DemoData {
        persons,
        vehicles,
        licences,
        wanted,
        crossings,
    })
}

/// The fixed persons: the owner of 京A12345, the SFZ demo person and the two 张伟.
fn fixed_persons() -> Vec<Person> {
    let person = |id: &str,
                  name: &str,
                  sex: &str,
                  birth: &str,
                  address: &str,
                  bureau: &str,
                  from: &str,
                  until: &str| Person {
        id_number: id.to_owned(),
        name: name.to_owned(),
        sex: sex.to_owned(),
        birth_date: birth.to_owned(),
        address: address.to_owned(),
        issued_by: bureau.to_owned(),
        valid_from: from.to_owned(),
        valid_until: until.to_owned(),
    };
    vec![
        person(
            demo::OWNER_ID,
            demo::OWNER_NAME,
            "男",
            "1985-03-12",
            "北京市朝阳区建国路88号3号楼2单元501室",
            "北京市公安局朝阳分局",
            "2015-04-02",
            "2035-04-02",
        ),
        person(
            demo::ID_NUMBER,
            demo::ID_NAME,
            "女",
            "1992-07-15",
            "上海市徐汇区漕溪北路88号",
            "上海市公安局徐汇分局",
            "2022-08-01",
            "2042-08-01",
        ),
        person(
            demo::WANTED_TWICE_IDS[0],
            demo::WANTED_TWICE,
            "男",
            "1979-08-22",
            "北京市海淀区学院路37号",
            "北京市公安局海淀分局",
            "2019-09-10",
            "2039-09-10",
        ),
        person(
            demo::WANTED_TWICE_IDS[1],
            demo::WANTED_TWICE,
            "男",
            "1988-01-30",
            "江苏省南京市玄武区中山路105号2号楼1单元302室",
            "南京市公安局玄武分局",
            "2018-03-05",
            "2038-03-05",
        ),
    ]
}

/// Random record generation over one seeded generator.
struct Generator {
    rng: StdRng,
    /// Every ID number handed out (and the reserved absent one).
    ids: HashSet<String>,
    as_of: NaiveDate,
}

impl Generator {
    /// An index into a list of `len`, favouring the start (the minimum of two uniform draws).
    fn skewed(&mut self, len: usize) -> usize {
        self.rng
            .random_range(0..len)
            .min(self.rng.random_range(0..len))
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }

    fn name(&mut self, sex: Sex) -> String {
        let surname = SURNAMES[self.skewed(SURNAMES.len())];
        let chars = match sex {
            Sex::Male => MALE_CHARS,
            Sex::Female => FEMALE_CHARS,
        };
        let mut name = format!("{surname}{}", self.pick(chars));
        if self.rng.random_bool(0.5) {
            name.push_str(self.pick(chars));
        }
        name
    }

    fn address(&mut self, region: &Region) -> String {
        let street = self.pick(STREETS);
        let number = self.rng.random_range(1..400);
        if self.rng.random_bool(0.7) {
            format!(
                "{}{street}{number}号{}号楼{}单元{}{:02}室",
                region.place,
                self.rng.random_range(1..30),
                self.rng.random_range(1..7),
                self.rng.random_range(1..25),
                self.rng.random_range(1..5),
            )
        } else {
            format!("{}{street}{number}号", region.place)
        }
    }

    /// A date `0..=max_days` days before `AS_OF`.
    fn days_before(&mut self, max_days: u64) -> NaiveDate {
        let back = self.rng.random_range(0..=max_days);
        self.as_of
            .checked_sub_days(Days::new(back))
            .unwrap_or(self.as_of)
    }

    /// A random person aged 18 to 76 with a unique, valid ID number.
    fn person(&mut self) -> Person {
        loop {
            let region = &REGIONS[self.rng.random_range(0..REGIONS.len())];
            let sex = if self.rng.random_bool(0.5) {
                Sex::Male
            } else {
                Sex::Female
            };
            let year = self.rng.random_range(1950..=2008);
            let month = self.rng.random_range(1..=12);
            let day = self.rng.random_range(1..=days_in_month(year, month));
            let sequence = self.rng.random_range(0..1000);
            let birth = (year as u16, month as u8, day as u8);
            let Some(id) = id_number::compose(region.code, birth, sequence, sex) else {
                continue;
            };
            if !self.ids.insert(id.clone()) {
                continue;
            }
            let born = date(year, month, day);
            let sixteen = add_years(born, 16);
            let mut issued = self.days_before(3650);
            if issued < sixteen {
                issued = sixteen
                    .checked_add_days(Days::new(self.rng.random_range(0..180)))
                    .unwrap_or(sixteen);
            }
            let age_at_issue = issued.years_since(born).unwrap_or(0);
            let valid_until = match age_at_issue {
                0..16 => iso(add_years(issued, 5)),
                16..26 => iso(add_years(issued, 10)),
                26..46 => iso(add_years(issued, 20)),
                _ => "长期".to_owned(),
            };
            return Person {
                name: self.name(sex),
                sex: sex.as_chinese().to_owned(),
                birth_date: iso(born),
                address: self.address(region),
                issued_by: region.bureau.to_owned(),
                valid_from: iso(issued),
                valid_until,
                id_number: id,
            };
        }
    }

    /// A unique plate of `region`; never [`demo::PLATE`] or [`demo::ABSENT_PLATE`].
    fn plate(&mut self, region: &Region, taken: &HashSet<String>) -> String {
        loop {
            let letters = region.plate_letters.as_bytes();
            let office = letters[self.rng.random_range(0..letters.len())] as char;
            let mut serial: Vec<char> = Vec::with_capacity(6);
            if self.rng.random_bool(0.1) {
                // New-energy plate: D (electric) or F (hybrid) and five digits.
                serial.push(if self.rng.random_bool(0.7) { 'D' } else { 'F' });
                serial.extend((0..5).map(|_| char::from(b'0' + self.rng.random_range(0..10u8))));
            } else {
                serial.extend((0..5).map(|_| char::from(b'0' + self.rng.random_range(0..10u8))));
                if self.rng.random_bool(0.3) {
                    let at = self.rng.random_range(0..4);
                    serial[at] =
                        PLATE_LETTERS[self.rng.random_range(0..PLATE_LETTERS.len())] as char;
                }
            }
            let plate: String = [region.province, office]
                .into_iter()
                .chain(serial)
                .collect();
            if plate != demo::PLATE && plate != demo::ABSENT_PLATE && !taken.contains(&plate) {
                return plate;
            }
        }
    }

    fn vehicles(&mut self, persons: &[Person], count: usize) -> Vec<Vehicle> {
        let mut vehicles = vec![Vehicle {
            plate: demo::PLATE.to_owned(),
            owner_name: demo::OWNER_NAME.to_owned(),
            owner_id: demo::OWNER_ID.to_owned(),
            model: "大众帕萨特".to_owned(),
            colour: "黑".to_owned(),
            registered_on: "2018-04-20".to_owned(),
            inspection_due: "2027-04-30".to_owned(),
            inspection_status: "正常".to_owned(),
            unpaid_fines: 200,
            violations: 1,
        }];
        let mut taken: HashSet<String> = HashSet::from([demo::PLATE.to_owned()]);
        let adults: Vec<&Person> = persons.iter().filter(|p| self.is_adult(p)).collect();
        while vehicles.len() < count && !adults.is_empty() {
            let owner = adults[self.rng.random_range(0..adults.len())];
            let region = if self.rng.random_bool(0.8) {
                REGIONS
                    .iter()
                    .find(|r| owner.id_number.starts_with(r.code))
                    .unwrap_or(&REGIONS[0])
            } else {
                &REGIONS[self.rng.random_range(0..REGIONS.len())]
            };
            let plate = self.plate(region, &taken);
            taken.insert(plate.clone());
            let registered = self.days_before(15 * 365);
            // Annual inspection: due on an anniversary of registration; overdue if it passed.
            let mut due = add_years(registered, 1);
            let recent = self
                .as_of
                .checked_sub_days(Days::new(120))
                .unwrap_or(self.as_of);
            while due < recent {
                due = add_years(due, 1);
            }
            let status = if due < self.as_of {
                "逾期未检验"
            } else {
                "正常"
            };
            let violations = if self.rng.random_bool(0.6) {
                0
            } else {
                self.rng.random_range(1..=5)
            };
            let unpaid_fines = (0..violations)
                .map(|_| [0, 50, 100, 150, 200][self.rng.random_range(0..5)])
                .sum();
            vehicles.push(Vehicle {
                plate,
                owner_name: owner.name.clone(),
                owner_id: owner.id_number.clone(),
                model: self.pick(MODELS).to_owned(),
                colour: self.pick(COLOURS).to_owned(),
                registered_on: iso(registered),
                inspection_due: iso(due),
                inspection_status: status.to_owned(),
                unpaid_fines,
                violations,
            });
        }
        vehicles
    }

    fn licences(
        &mut self,
        persons: &[Person],
        count: usize,
    ) -> Result<Vec<Licence>, DemoDataError> {
        let mut licences = vec![Licence {
            licence_no: demo::LICENCE_NO.to_owned(),
            name: demo::OWNER_NAME.to_owned(),
            id_number: demo::OWNER_ID.to_owned(),
            classes: "C1".to_owned(),
            points: 3,
            valid_from: "2021-06-01".to_owned(),
            valid_until: "2031-06-01".to_owned(),
            status: "正常".to_owned(),
        }];
        let mut holders: Vec<&Person> = persons
            .iter()
            .filter(|p| self.is_adult(p) && p.id_number != demo::LICENCE_NO)
            .collect();
        if holders.len() + 1 < count {
            return Err(DemoDataError::Counts(format!(
                "{count} licences asked for but only {} adults generated",
                holders.len() + 1
            )));
        }
        while licences.len() < count {
            // Remove the chosen holder: one licence per person.
            let holder = holders.swap_remove(self.rng.random_range(0..holders.len()));
            let born = parse_iso(&holder.birth_date).unwrap_or(self.as_of);
            let eighteen = add_years(born, 18);
            let span = (self.as_of - eighteen).num_days().max(0) as u64;
            let first = self.days_before(span);
            // Validity periods: 6 years, then 10, then long-term.
            let (from, until) = if add_years(first, 6) > self.as_of {
                (first, Some(add_years(first, 6)))
            } else if add_years(first, 16) > self.as_of {
                (add_years(first, 6), Some(add_years(first, 16)))
            } else {
                (add_years(first, 16), None)
            };
            let classes = match self.rng.random_range(0..100) {
                0..70 => "C1",
                70..80 => "C2",
                80..86 => "B2",
                86..89 => "A2",
                89..91 => "A1",
                91..94 => "C1E",
                94..97 => "B1",
                _ => "D",
            };
            let points = if self.rng.random_bool(0.7) {
                0
            } else {
                self.rng.random_range(1..=12)
            };
            let status = if points >= 12 {
                "超分"
            } else {
                match self.rng.random_range(0..100) {
                    0..92 => "正常",
                    92..95 => "逾期未审验",
                    95..97 => "暂扣",
                    97..99 => "注销",
                    _ => "吊销",
                }
            };
            licences.push(Licence {
                licence_no: holder.id_number.clone(),
                name: holder.name.clone(),
                id_number: holder.id_number.clone(),
                classes: classes.to_owned(),
                points,
                valid_from: iso(from),
                valid_until: until.map_or_else(|| "长期".to_owned(), iso),
                status: status.to_owned(),
            });
        }
        Ok(licences)
    }

    fn wanted(&mut self, persons: &[Person], count: usize) -> Vec<Wanted> {
        let mut wanted = Vec::with_capacity(count);
        let mut push = |w: Wanted| {
            wanted.push(Wanted {
                id: wanted.len() as i64 + 1,
                ..w
            })
        };
        let beijing_haidian = &REGIONS[3];
        let nanjing = &REGIONS[11];
        push(Wanted {
            id: 0,
            name: demo::WANTED_TWICE.to_owned(),
            id_number: Some(demo::WANTED_TWICE_IDS[0].to_owned()),
            case_summary: "涉嫌诈骗罪".to_owned(),
            issuing_unit: beijing_haidian.bureau.to_owned(),
            issued_on: "2024-03-15".to_owned(),
            level: "B级".to_owned(),
        });
        push(Wanted {
            id: 0,
            name: demo::WANTED_TWICE.to_owned(),
            id_number: Some(demo::WANTED_TWICE_IDS[1].to_owned()),
            case_summary: "涉嫌盗窃罪".to_owned(),
            issuing_unit: nanjing.bureau.to_owned(),
            issued_on: "2022-11-08".to_owned(),
            level: "网上追逃".to_owned(),
        });
        let many: Vec<&Person> = persons
            .iter()
            .filter(|p| p.name == demo::WANTED_MANY)
            .take(demo::WANTED_MANY_COUNT)
            .collect();
        let mut candidates: Vec<&Person> = persons
            .iter()
            .filter(|p| p.name != demo::WANTED_TWICE && p.name != demo::WANTED_MANY)
            .collect();
        let mut entries: Vec<(String, Option<String>, &'static Region)> = many
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    Some(p.id_number.clone()),
                    region_of(&p.id_number),
                )
            })
            .collect();
        let mut previous_names: Vec<String> = Vec::new();
        while entries.len() + 2 < count && !candidates.is_empty() {
            let roll = self.rng.random_range(0..100);
            let entry = if roll < 8 && !previous_names.is_empty() {
                // Someone else with the same name as an earlier entry, ID number unknown.
                let name = previous_names[self.rng.random_range(0..previous_names.len())].clone();
                (
                    name,
                    None,
                    &REGIONS[self.rng.random_range(0..REGIONS.len())],
                )
            } else if roll < 18 {
                let sex = if self.rng.random_bool(0.8) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let name = self.name(sex);
                if name == demo::WANTED_TWICE || name == demo::WANTED_MANY {
                    continue;
                }
                (
                    name,
                    None,
                    &REGIONS[self.rng.random_range(0..REGIONS.len())],
                )
            } else {
                let person = candidates.swap_remove(self.rng.random_range(0..candidates.len()));
                (
                    person.name.clone(),
                    Some(person.id_number.clone()),
                    region_of(&person.id_number),
                )
            };
            previous_names.push(entry.0.clone());
            entries.push(entry);
        }
        for (name, id_number, region) in entries {
            let issuing_unit = if self.rng.random_bool(0.5) {
                region.bureau.to_owned()
            } else {
                format!("{}{}", region.city_bureau, self.pick(UNITS))
            };
            let level = match self.rng.random_range(0..100) {
                0..5 => "A级",
                5..30 => "B级",
                _ => "网上追逃",
            };
            push(Wanted {
                id: 0,
                name,
                id_number,
                case_summary: self.pick(CASES).to_owned(),
                issuing_unit,
                issued_on: iso(self.days_before(3650)),
                level: level.to_owned(),
            });
        }
        wanted
    }

    /// Border crossings: the fixed two trips of [`demo::OWNER_ID`], then one to three trips
    /// (out and back, the last maybe still abroad) for about one adult in eight, never for
    /// [`demo::NEVER_CROSSED`]. Ids in order of generation.
    fn crossings(&mut self, persons: &[Person]) -> Vec<Crossing> {
        let mut out: Vec<Crossing> = Vec::new();
        let mut push = |person: &Person,
                        direction: &str,
                        on: NaiveDate,
                        port: &str,
                        place: &str,
                        document: &str| {
            out.push(Crossing {
                id: out.len() as i64 + 1,
                id_number: person.id_number.clone(),
                name: person.name.clone(),
                direction: direction.to_owned(),
                crossed_on: iso(on),
                port: port.to_owned(),
                place: place.to_owned(),
                document: document.to_owned(),
            });
        };
        if let Some(owner) = persons.iter().find(|p| p.id_number == demo::OWNER_ID) {
            let fixed = [
                ("出境", date(2025, 2, 1), "北京首都国际机场", "日本", "护照"),
                ("入境", date(2025, 2, 8), "北京首都国际机场", "日本", "护照"),
                (
                    "出境",
                    date(2026, 7, 15),
                    "深圳湾口岸",
                    "香港",
                    "往来港澳通行证",
                ),
                (
                    "入境",
                    date(2026, 7, 17),
                    "深圳湾口岸",
                    "香港",
                    "往来港澳通行证",
                ),
            ];
            for (direction, on, port, place, document) in fixed {
                push(owner, direction, on, port, place, document);
            }
        }
        for person in persons {
            if person.id_number == demo::OWNER_ID
                || person.id_number == demo::NEVER_CROSSED
                || !self.is_adult(person)
                || !self.rng.random_ratio(1, 8)
            {
                continue;
            }
            let trips = self.rng.random_range(1..=3);
            for trip in 0..trips {
                let (place, port, document) = *TRIPS
                    .get(self.rng.random_range(0..TRIPS.len()))
                    .unwrap_or(&TRIPS[0]);
                let out_on = self.days_before(1800);
                push(person, "出境", out_on, port, place, document);
                let back = out_on.checked_add_days(Days::new(self.rng.random_range(2..30)));
                // The last trip may still be going on.
                match back.filter(|b| *b <= self.as_of) {
                    Some(back) if trip + 1 < trips || self.rng.random_bool(0.8) => {
                        push(person, "入境", back, port, place, document)
                    }
                    _ => {}
                }
            }
        }
        out
    }

    fn is_adult(&self, person: &Person) -> bool {
        parse_iso(&person.birth_date)
            .and_then(|born| self.as_of.years_since(born))
            .is_some_and(|age| age >= 18)
    }
}

/// The region whose code starts `id_number` (the first region if none does).
fn region_of(id_number: &str) -> &'static Region {
    REGIONS
        .iter()
        .find(|r| id_number.starts_with(r.code))
        .unwrap_or(&REGIONS[0])
}

fn days_in_month(year: i32, month: u32) -> u32 {
    (28..=31)
        .rev()
        .find(|&day| NaiveDate::from_ymd_opt(year, month, day).is_some())
        .unwrap_or(28)
}

/// A date known to exist (the generator only builds valid ones); falls back to 1970-01-01.
fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
}

/// `years` later, 29 February becoming 28 February.
fn add_years(day: NaiveDate, years: u32) -> NaiveDate {
    day.checked_add_months(Months::new(years * 12))
        .unwrap_or(day)
}

fn iso(day: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day())
}

fn parse_iso(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use police_common::plate;

    fn data() -> DemoData {
        generate(DEFAULT_SEED, DemoCounts::default()).expect("generates")
    }

    #[test]
    fn generates_the_requested_counts() {
        let data = data();
        assert_eq!(data.persons.len(), 5_000);
        assert_eq!(data.vehicles.len(), 3_000);
        assert_eq!(data.licences.len(), 2_000);
        assert_eq!(data.wanted.len(), 200);
    }

    /// `CRJ`: the owner of 京A12345 always has his two trips, the SFZ demo person never
    /// crossed, and every crossing is a person's, dated no later than [`AS_OF`].
    #[test]
    fn border_crossings_belong_to_persons_and_include_the_fixed_trips() {
        let data = data();
        let owner: Vec<&Crossing> = data
            .crossings
            .iter()
            .filter(|c| c.id_number == demo::OWNER_ID)
            .collect();
        assert_eq!(owner.len(), demo::OWNER_CROSSINGS);
        assert_eq!(
            (
                owner[3].direction.as_str(),
                owner[3].crossed_on.as_str(),
                owner[3].place.as_str()
            ),
            ("入境", "2026-07-17", "香港")
        );
        assert!(
            data.crossings
                .iter()
                .all(|c| c.id_number != demo::NEVER_CROSSED)
        );
        let persons: std::collections::HashMap<&str, &str> = data
            .persons
            .iter()
            .map(|p| (p.id_number.as_str(), p.name.as_str()))
            .collect();
        let as_of = iso(date(AS_OF.0, AS_OF.1, AS_OF.2));
        for c in &data.crossings {
            assert_eq!(
                persons.get(c.id_number.as_str()),
                Some(&c.name.as_str()),
                "{c:?}"
            );
            assert!(c.crossed_on <= as_of, "{c:?}");
            assert!(c.direction == "出境" || c.direction == "入境", "{c:?}");
        }
        assert!(data.crossings.len() > 500, "{}", data.crossings.len());
    }

    #[test]
    fn every_id_number_is_valid_and_agrees_with_birth_date_and_sex() {
        let data = data();
        for person in &data.persons {
            let id = id_number::parse(&person.id_number)
                .unwrap_or_else(|e| panic!("{}: {e}", person.id_number));
            assert_eq!(id.birth_iso(), person.birth_date, "{}", person.id_number);
            assert_eq!(id.sex.as_chinese(), person.sex, "{}", person.id_number);
            let region = region_of(&person.id_number);
            assert!(person.id_number.starts_with(region.code));
        }
        let wanted_ids = data.wanted.iter().filter_map(|w| w.id_number.as_deref());
        let licence_ids = data.licences.iter().map(|l| l.licence_no.as_str());
        let owner_ids = data.vehicles.iter().map(|v| v.owner_id.as_str());
        for number in wanted_ids.chain(licence_ids).chain(owner_ids) {
            assert!(id_number::parse(number).is_ok(), "{number}");
        }
    }

    #[test]
    fn keys_are_unique_and_every_owner_and_holder_is_a_person() {
        let data = data();
        let ids: HashSet<&str> = data.persons.iter().map(|p| p.id_number.as_str()).collect();
        assert_eq!(ids.len(), data.persons.len());
        let plates: HashSet<&str> = data.vehicles.iter().map(|v| v.plate.as_str()).collect();
        assert_eq!(plates.len(), data.vehicles.len());
        let licences: HashSet<&str> = data
            .licences
            .iter()
            .map(|l| l.licence_no.as_str())
            .collect();
        assert_eq!(licences.len(), data.licences.len());
        for v in &data.vehicles {
            assert!(ids.contains(v.owner_id.as_str()), "{}", v.plate);
        }
        for l in &data.licences {
            assert!(ids.contains(l.id_number.as_str()), "{}", l.licence_no);
        }
    }

    #[test]
    fn every_plate_is_well_formed() {
        for v in &data().vehicles {
            assert_eq!(plate::normalise(&v.plate).as_deref(), Ok(v.plate.as_str()));
        }
    }

    #[test]
    fn contains_the_fixed_demo_records() {
        let data = data();
        let car = data
            .vehicles
            .iter()
            .find(|v| v.plate == demo::PLATE)
            .expect("京A12345");
        assert_eq!(car.owner_id, demo::OWNER_ID);
        let owner = data
            .persons
            .iter()
            .find(|p| p.id_number == car.owner_id)
            .expect("owner");
        assert_eq!(owner.name, demo::OWNER_NAME);
        assert!(
            data.licences
                .iter()
                .any(|l| l.licence_no == demo::LICENCE_NO)
        );
        assert!(
            data.persons
                .iter()
                .any(|p| p.id_number == demo::ID_NUMBER && p.name == demo::ID_NAME)
        );
        let twice: Vec<&Wanted> = data
            .wanted
            .iter()
            .filter(|w| w.name == demo::WANTED_TWICE)
            .collect();
        assert_eq!(twice.len(), 2);
        for (w, id) in twice.iter().zip(demo::WANTED_TWICE_IDS) {
            assert_eq!(w.id_number.as_deref(), Some(id));
        }
        let many = data
            .wanted
            .iter()
            .filter(|w| w.name == demo::WANTED_MANY)
            .count();
        assert_eq!(many, demo::WANTED_MANY_COUNT);
    }

    #[test]
    fn never_contains_the_documented_absent_values() {
        let data = data();
        assert!(data.vehicles.iter().all(|v| v.plate != demo::ABSENT_PLATE));
        assert!(
            data.persons
                .iter()
                .all(|p| p.id_number != demo::ABSENT_ID_NUMBER)
        );
        assert!(
            data.licences
                .iter()
                .all(|l| l.licence_no != demo::ABSENT_ID_NUMBER)
        );
        assert!(data.persons.iter().all(|p| p.name != demo::ABSENT_NAME));
        assert!(data.wanted.iter().all(|w| w.name != demo::ABSENT_NAME));
    }

    #[test]
    fn some_other_wanted_names_are_shared() {
        let data = data();
        let mut seen = HashSet::new();
        let shared: HashSet<&str> = data
            .wanted
            .iter()
            .filter(|w| w.name != demo::WANTED_TWICE && w.name != demo::WANTED_MANY)
            .filter(|w| !seen.insert(w.name.as_str()))
            .map(|w| w.name.as_str())
            .collect();
        assert!(shared.len() >= 3, "{shared:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_data_and_another_seed_does_not() {
        let counts = DemoCounts {
            persons: 300,
            vehicles: 100,
            licences: 100,
            wanted: 30,
        };
        let a = generate(7, counts).expect("generates");
        assert_eq!(a, generate(7, counts).expect("generates"));
        assert_ne!(a.persons, generate(8, counts).expect("generates").persons);
    }

    #[test]
    fn refuses_counts_it_cannot_meet() {
        let counts = DemoCounts {
            persons: 20,
            vehicles: 5,
            licences: 50,
            wanted: 5,
        };
        assert!(matches!(generate(1, counts), Err(DemoDataError::Counts(_))));
        let counts = DemoCounts {
            persons: 3,
            ..counts
        };
        assert!(matches!(generate(1, counts), Err(DemoDataError::Counts(_))));
    }

    #[test]
    fn statuses_agree_with_the_dates() {
        let data = data();
        let as_of = iso(date(AS_OF.0, AS_OF.1, AS_OF.2));
        for v in &data.vehicles {
            assert_eq!(
                v.inspection_status == "逾期未检验",
                v.inspection_due < as_of,
                "{}",
                v.plate
            );
        }
        for l in &data.licences {
            assert!(l.valid_from <= as_of && (l.valid_until == "长期" || l.valid_until > as_of));
            assert_eq!(l.points >= 12, l.status == "超分", "{}", l.licence_no);
        }
    }

    #[tokio::test]
    async fn writes_a_database_the_plugins_can_query_and_refuses_to_overwrite_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("police.db");
        let summary = write_demo_database(&path, DEFAULT_SEED)
            .await
            .expect("writes");
        assert_eq!(
            (
                summary.persons,
                summary.vehicles,
                summary.licences,
                summary.wanted
            ),
            (5_000, 3_000, 2_000, 200)
        );

        let options = SqliteConnectOptions::new().filename(&path).read_only(true);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .expect("opens");
        let (owner, model): (String, String) =
            sqlx::query_as("SELECT owner_name, model FROM vehicles WHERE plate = $1")
                .bind(demo::PLATE)
                .fetch_one(&mut conn)
                .await
                .expect("京A12345");
        assert_eq!((owner.as_str(), model.as_str()), ("李明", "大众帕萨特"));
        // The wanted plugin's statement, window function included, runs as written.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT name, COUNT(*) OVER () AS total FROM wanted WHERE name = $1 \
             ORDER BY issued_on DESC, id LIMIT 5",
        )
        .bind(demo::WANTED_MANY)
        .fetch_all(&mut conn)
        .await
        .expect("query");
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].1, demo::WANTED_MANY_COUNT as i64);
        let (crossings,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM exit_entry WHERE id_number = $1")
                .bind(demo::OWNER_ID)
                .fetch_one(&mut conn)
                .await
                .expect("exit_entry");
        assert_eq!(crossings, demo::OWNER_CROSSINGS as i64);
        assert!(summary.crossings > demo::OWNER_CROSSINGS);
        conn.close().await.expect("closes");

        let again = write_demo_database(&path, DEFAULT_SEED).await;
        assert!(matches!(again, Err(DemoDataError::Exists(_))), "{again:?}");
        write_demo_database_with(
            &path,
            1,
            DemoCounts {
                persons: 50,
                vehicles: 10,
                licences: 10,
                wanted: 10,
            },
            true,
        )
        .await
        .expect("overwrites when asked");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .filter_map(Result::ok)
            .filter(|e| e.file_name() != "police.db")
            .collect();
        assert!(
            leftovers.is_empty(),
            "no temporary files left: {leftovers:?}"
        );
    }
}
