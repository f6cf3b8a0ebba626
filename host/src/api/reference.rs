//! The API reference page at [`PATH`] (issue 5 item 3): HTML rendered on the server from the
//! same utoipa OpenAPI document that `/api/openapi.json` serves, so it can never disagree with
//! the API. Operations are grouped by tag, each with its method and path, summary and
//! description, parameters, request body, responses (status, media type, schema) and whether
//! it needs a key; `$ref`s are resolved to the component schemas, whose properties are shown as
//! tables (name, type, required, description and constraints).
//!
//! No JavaScript and nothing from another site: a police intranet has no internet access, and
//! Swagger UI, ReDoc and Scalar (utoipa-swagger-ui, utoipa-redoc, utoipa-scalar) fetch their
//! scripts and styles from the internet when they are built or viewed. The page is one
//! self-contained document with its styles inline, served with a Content-Security-Policy that
//! forbids scripts and any outside resource. Everything taken from the document is
//! HTML-escaped ([`escape`]). It needs no key: it describes the API, it holds no data.

use std::collections::BTreeMap;
use std::fmt::Write;

/// A tag of the reference: its name, its description, and its operations (method, path).
type TagGroup = (String, Option<String>, Vec<(String, String)>);

use serde_json::{Map, Value};

/// Where the page is served.
pub const PATH: &str = "/api/docs";

/// The page's Content-Security-Policy: no scripts, no outside resources, inline styles only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The methods of a path item, in the order shown.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// HTML-escapes `text` for element content and quoted attribute values. Hand-written (five
/// characters) rather than a template engine, to add no dependency for one page.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An `id` attribute value made of `prefix` and `name` (letters, digits, `-`, `_` kept; others
/// become `-`), so that anchors are safe whatever the document says.
fn anchor(prefix: &str, name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{prefix}-{cleaned}")
}

/// Escaped text with `` `code` `` spans and paragraphs (blank lines) kept: the little Markdown
/// the document's descriptions use. Backticks are not special to HTML, so turning them into
/// `<code>` after escaping cannot let anything through.
fn prose(text: &str) -> String {
    let mut html = String::new();
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let escaped = escape(paragraph.trim());
        let mut out = String::new();
        for (n, piece) in escaped.split('`').enumerate() {
            if n % 2 == 1 {
                let _ = write!(out, "<code>{piece}</code>");
            } else {
                out.push_str(piece);
            }
        }
        let _ = write!(html, "<p>{out}</p>");
    }
    html
}

/// The component name of a `$ref` (`#/components/schemas/Problem` → `Problem`).
fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// Renders the page for the OpenAPI document `doc` (as JSON).
pub struct Renderer<'a> {
    doc: &'a Value,
    schemas: &'a Map<String, Value>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'a> Renderer<'a> {
    /// A renderer of `doc`.
    pub fn new(doc: &'a Value) -> Renderer<'a> {
        let schemas = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .unwrap_or(&*EMPTY);
        Renderer { doc, schemas }
    }

    /// Follows a `$ref` to a component schema (one level; the target is shown by name).
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => self.schemas.get(ref_name(r)).unwrap_or(schema),
            None => schema,
        }
    }

    /// A schema's type as HTML: `string`, `integer (int64)`, `array of Queued` (linked),
    /// `string | null`, an enumeration's values...
    fn type_html(&self, schema: &Value) -> String {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = ref_name(r);
            return if self.schemas.contains_key(name) {
                format!(
                    "<a href=\"#{}\">{}</a>",
                    anchor("schema", name),
                    escape(name)
                )
            } else {
                escape(name)
            };
        }
        for combinator in ["oneOf", "anyOf", "allOf"] {
            if let Some(options) = schema.get(combinator).and_then(Value::as_array) {
                let separator = if combinator == "allOf" {
                    " &amp; "
                } else {
                    " | "
                };
                return options
                    .iter()
                    .map(|o| self.type_html(o))
                    .collect::<Vec<_>>()
                    .join(separator);
            }
        }
        let types: Vec<String> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let mut parts = Vec::new();
        for t in &types {
            let mut text = match t.as_str() {
                "array" => match schema.get("items") {
                    Some(items) => format!("array of {}", self.type_html(items)),
                    None => "array".to_owned(),
                },
                other => escape(other),
            };
            if t != "null"
                && t != "array"
                && let Some(format) = schema.get("format").and_then(Value::as_str)
            {
                let _ = write!(text, " ({})", escape(format));
            }
            parts.push(text);
        }
        if parts.is_empty() {
            if schema.get("properties").is_some() {
                parts.push("object".to_owned());
            } else if schema.get("enum").is_none() {
                parts.push("any".to_owned());
            }
        }
        let mut html = parts.join(" | ");
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            let listed: Vec<String> = values
                .iter()
                .map(|v| format!("<code>{}</code>", escape(&plain(v))))
                .collect();
            if !html.is_empty() {
                html.push_str(": ");
            }
            html.push_str(&listed.join(", "));
        }
        html
    }

    /// The constraints of a schema worth showing (limits, default, example), escaped.
    fn constraints(&self, schema: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for (key, label) in [
            ("minimum", "最小 min"),
            ("maximum", "最大 max"),
            ("minLength", "最短 min length"),
            ("maxLength", "最长 max length"),
            ("minItems", "至少 min items"),
            ("maxItems", "至多 max items"),
            ("pattern", "格式 pattern"),
            ("default", "默认 default"),
            ("example", "示例 example"),
        ] {
            if let Some(value) = schema.get(key) {
                out.push(format!("{label}: <code>{}</code>", escape(&plain(value))));
            }
        }
        if let Some(examples) = schema.get("examples").and_then(Value::as_array)
            && let Some(first) = examples.first()
        {
            out.push(format!(
                "示例 example: <code>{}</code>",
                escape(&plain(first))
            ));
        }
        out
    }

    /// A table of the properties of `schema` (after resolving a `$ref`), or its type when it
    /// has no properties.
    fn schema_table(&self, schema: &Value) -> String {
        let target = self.resolve(schema);
        let Some(properties) = target.get("properties").and_then(Value::as_object) else {
            let mut html = format!(
                "<p class=\"type\">类型 Type: {}</p>",
                self.type_html(target)
            );
            if let Some(d) = target.get("description").and_then(Value::as_str) {
                html.push_str(&prose(d));
            }
            return html;
        };
        let required: Vec<&str> = target
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut html = String::from(
            "<table><thead><tr><th>字段 Field</th><th>类型 Type</th><th>必填 Required</th>\
             <th>说明 Description</th></tr></thead><tbody>",
        );
        for (name, property) in properties {
            let description = property
                .get("description")
                .or_else(|| self.resolve(property).get("description"))
                .and_then(Value::as_str)
                .map(prose)
                .unwrap_or_default();
            let constraints = self.constraints(property);
            let constraints = if constraints.is_empty() {
                String::new()
            } else {
                format!("<p class=\"limits\">{}</p>", constraints.join("; "))
            };
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{description}{constraints}</td></tr>",
                escape(name),
                self.type_html(property),
                if required.contains(&name.as_str()) {
                    "<strong>是 yes</strong>"
                } else {
                    "否 no"
                },
            );
        }
        html.push_str("</tbody></table>");
        html
    }

    /// The media types of a request body or response, each with its schema.
    fn content(&self, content: Option<&Value>, inline_tables: bool) -> String {
        let Some(content) = content.and_then(Value::as_object) else {
            return String::new();
        };
        let mut html = String::new();
        for (media_type, media) in content {
            let schema = media.get("schema");
            let type_html = schema.map(|s| self.type_html(s)).unwrap_or_default();
            let _ = write!(
                html,
                "<p class=\"media\"><code>{}</code> {type_html}</p>",
                escape(media_type)
            );
            if inline_tables && let Some(schema) = schema {
                html.push_str(&self.schema_table(schema));
            }
        }
        html
    }

    fn parameters(&self, operation: &Value, path_item: &Value) -> String {
        let mut all: Vec<&Value> = Vec::new();
        for list in [path_item.get("parameters"), operation.get("parameters")] {
            if let Some(list) = list.and_then(Value::as_array) {
                all.extend(list);
            }
        }
        if all.is_empty() {
            return String::new();
        }
        let mut html = String::from(
            "<h4>参数 Parameters</h4><table><thead><tr><th>名称 Name</th><th>位置 In</th>\
             <th>类型 Type</th><th>必填 Required</th><th>说明 Description</th></tr></thead><tbody>",
        );
        for parameter in all {
            let parameter = match parameter.get("$ref").and_then(Value::as_str) {
                Some(r) => self
                    .doc
                    .pointer("/components/parameters")
                    .and_then(|p| p.get(ref_name(r)))
                    .unwrap_or(parameter),
                None => parameter,
            };
            let text = |key: &str| {
                parameter
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            };
            let required = parameter
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(text("name")),
                escape(text("in")),
                parameter
                    .get("schema")
                    .map(|s| self.type_html(s))
                    .unwrap_or_default(),
                if required {
                    "<strong>是 yes</strong>"
                } else {
                    "否 no"
                },
                prose(text("description")),
            );
        }
        html.push_str("</tbody></table>");
        html
    }

    fn operation(&self, method: &str, path: &str, operation: &Value, path_item: &Value) -> String {
        let id = operation
            .get("operationId")
            .and_then(Value::as_str)
            .map(|id| anchor("op", id))
            .unwrap_or_else(|| anchor("op", &format!("{method}-{path}")));
        let mut html = format!(
            "<section class=\"operation\" id=\"{id}\"><h3><span class=\"method {m}\">{M}</span> \
             <code class=\"path\">{p}</code></h3>",
            m = escape(method),
            M = escape(&method.to_ascii_uppercase()),
            p = escape(path),
        );
        if let Some(summary) = operation.get("summary").and_then(Value::as_str) {
            let _ = write!(html, "<p class=\"summary\">{}</p>", escape(summary));
        }
        if let Some(description) = operation.get("description").and_then(Value::as_str)
            && Some(description) != operation.get("summary").and_then(Value::as_str)
        {
            html.push_str(&prose(description));
        }
        let security = operation
            .get("security")
            .or_else(|| self.doc.get("security"))
            .and_then(Value::as_array);
        let schemes: Vec<String> = security
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|requirement| requirement.keys().cloned())
            .collect();
        if schemes.is_empty() {
            html.push_str("<p class=\"auth open\">无需密钥 No key needed</p>");
        } else {
            let _ = write!(
                html,
                "<p class=\"auth\">需要 API 密钥 Requires an API key: <code>Authorization: Bearer \
                 &lt;key&gt;</code> ({})</p>",
                escape(&schemes.join(", "))
            );
        }
        html.push_str(&self.parameters(operation, path_item));
        if let Some(body) = operation.get("requestBody") {
            let required = body
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let _ = write!(
                html,
                "<h4>请求体 Request body{}</h4>",
                if required {
                    " <small>(必填 required)</small>"
                } else {
                    ""
                }
            );
            if let Some(d) = body.get("description").and_then(Value::as_str) {
                html.push_str(&prose(d));
            }
            html.push_str(&self.content(body.get("content"), true));
        }
        if let Some(responses) = operation.get("responses").and_then(Value::as_object) {
            html.push_str(
                "<h4>响应 Responses</h4><table class=\"responses\"><thead><tr><th>状态 Status</th>\
                 <th>说明 Description</th><th>内容 Content</th></tr></thead><tbody>",
            );
            for (status, response) in responses {
                let success = status.starts_with('2');
                let _ = write!(
                    html,
                    "<tr class=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    if success { "ok" } else { "error" },
                    escape(status),
                    response
                        .get("description")
                        .and_then(Value::as_str)
                        .map(escape)
                        .unwrap_or_default(),
                    self.content(response.get("content"), success),
                );
            }
            html.push_str("</tbody></table>");
        }
        html.push_str("</section>");
        html
    }

    /// Every operation, grouped by tag: the document's tags first, in its order, then any
    /// others by name; operations within a tag by path and method.
    fn groups(&self) -> Vec<TagGroup> {
        let mut order: Vec<(String, Option<String>)> = self
            .doc
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t.get("name")?.as_str()?.to_owned(),
                    t.get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                ))
            })
            .collect();
        let mut members: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        if let Some(paths) = self.doc.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                for method in METHODS {
                    let Some(operation) = item.get(method) else {
                        continue;
                    };
                    let tags: Vec<String> = operation
                        .get("tags")
                        .and_then(Value::as_array)
                        .map(|t| {
                            t.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .filter(|t: &Vec<String>| !t.is_empty())
                        .unwrap_or_else(|| vec!["other".to_owned()]);
                    for tag in tags {
                        members
                            .entry(tag)
                            .or_default()
                            .push((path.clone(), method.to_owned()));
                    }
                }
            }
        }
        for tag in members.keys() {
            if !order.iter().any(|(name, _)| name == tag) {
                order.push((tag.clone(), None));
            }
        }
        order
            .into_iter()
            .filter_map(|(name, description)| {
                let operations = members.remove(&name)?;
                Some((name, description, operations))
            })
            .collect()
    }

    /// The whole page.
    pub fn render(&self) -> String {
        let info = self.doc.get("info").cloned().unwrap_or(Value::Null);
        let title = info.get("title").and_then(Value::as_str).unwrap_or("API");
        let version = info.get("version").and_then(Value::as_str).unwrap_or("");
        let mut html = format!(
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>接口文档 API reference · {t}</title><style>{STYLE}</style></head><body>\
             <header><h1>接口文档 API reference</h1><p class=\"title\">{t} \
             <span class=\"version\">{v}</span></p>",
            t = escape(title),
            v = escape(version),
        );
        if let Some(d) = info.get("description").and_then(Value::as_str) {
            html.push_str(&prose(d));
        }
        let _ = write!(
            html,
            "<p>机器可读的描述 Machine-readable description: <a href=\"{p}\">{p}</a> (OpenAPI {o})</p>\
             </header>",
            p = escape(super::OPENAPI_PATH),
            o = escape(
                self.doc
                    .get("openapi")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
        );
        html.push_str(&self.security_note());
        let groups = self.groups();
        html.push_str("<nav><h2>目录 Contents</h2><ul>");
        let paths = self.doc.get("paths").cloned().unwrap_or(Value::Null);
        for (tag, _, operations) in &groups {
            let _ = write!(
                html,
                "<li><a href=\"#{}\">{}</a><ul>",
                anchor("tag", tag),
                escape(tag)
            );
            for (path, method) in operations {
                let operation = &paths[path][method];
                let id = operation
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(|id| anchor("op", id))
                    .unwrap_or_else(|| anchor("op", &format!("{method}-{path}")));
                let _ = write!(
                    html,
                    "<li><a href=\"#{id}\"><span class=\"method {m}\">{M}</span> <code>{p}</code></a>{s}</li>",
                    m = escape(method),
                    M = escape(&method.to_ascii_uppercase()),
                    p = escape(path),
                    s = operation
                        .get("summary")
                        .and_then(Value::as_str)
                        .map(|s| format!(" — {}", escape(s)))
                        .unwrap_or_default(),
                );
            }
            html.push_str("</ul></li>");
        }
        if !self.schemas.is_empty() {
            html.push_str("<li><a href=\"#schemas\">数据结构 Schemas</a></li>");
        }
        html.push_str("</ul></nav><main>");
        for (tag, description, operations) in &groups {
            let _ = write!(
                html,
                "<section class=\"tag\" id=\"{}\"><h2>{}</h2>",
                anchor("tag", tag),
                escape(tag)
            );
            if let Some(d) = description {
                html.push_str(&prose(d));
            }
            for (path, method) in operations {
                html.push_str(&self.operation(method, path, &paths[path][method], &paths[path]));
            }
            html.push_str("</section>");
        }
        if !self.schemas.is_empty() {
            html.push_str("<section id=\"schemas\"><h2>数据结构 Schemas</h2>");
            for (name, schema) in self.schemas {
                let _ = write!(
                    html,
                    "<section class=\"schema\" id=\"{}\"><h3><code>{}</code></h3>",
                    anchor("schema", name),
                    escape(name)
                );
                if schema.get("properties").is_some()
                    && let Some(d) = schema.get("description").and_then(Value::as_str)
                {
                    html.push_str(&prose(d));
                }
                html.push_str(&self.schema_table(schema));
                html.push_str("</section>");
            }
            html.push_str("</section>");
        }
        html.push_str("</main></body></html>");
        html
    }

    /// How to authenticate, from the document's security schemes.
    fn security_note(&self) -> String {
        let mut html = String::from(
            "<section class=\"security\"><h2>认证 Authentication</h2><p>除标明“无需密钥”的接口外，\
             每个请求都要带上 API 密钥。Every call marked so needs an API key in the header \
             <code>Authorization: Bearer &lt;key&gt;</code>. 密钥由管理员用 \
             <code>jingxun apikey create</code> 创建，只显示一次；请勿放在 URL 或日志中。Keys are \
             created by an administrator and shown once; never put them in a URL or a log. \
             每次调用的响应都带 <code>X-Request-Id</code>，报告问题时请提供。Every answer carries \
             an <code>X-Request-Id</code>; quote it when reporting a problem. 错误一律为 RFC 9457 \
             问题文档 Errors are RFC 9457 problem documents \
             (<code>application/problem+json</code>).</p>",
        );
        if let Some(schemes) = self
            .doc
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
        {
            html.push_str("<ul>");
            for (name, scheme) in schemes {
                let text = |key: &str| scheme.get(key).and_then(Value::as_str).unwrap_or("");
                let _ = write!(
                    html,
                    "<li><code>{}</code>: {} {}{}</li>",
                    escape(name),
                    escape(text("type")),
                    escape(text("scheme")),
                    if text("bearerFormat").is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", 格式 format <code>{}</code>",
                            escape(text("bearerFormat"))
                        )
                    }
                );
            }
            html.push_str("</ul>");
        }
        html.push_str("</section>");
        html
    }
}

/// A JSON value as plain text: strings without quotes, others as JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The page for `document`.
pub fn render(document: &utoipa::openapi::OpenApi) -> String {
    // Serialising the generated document cannot fail (it is plain data).
    let value = serde_json::to_value(document).unwrap_or(Value::Null);
    Renderer::new(&value).render()
}

/// The route of [`PATH`]: the page for `document`, rendered once, served as HTML with a
/// policy that forbids scripts and outside resources.
pub fn page<S: Clone + Send + Sync + 'static>(
    document: &utoipa::openapi::OpenApi,
) -> axum::routing::MethodRouter<S> {
    use axum::http::header;
    let page: std::sync::Arc<str> = render(document).into();
    axum::routing::get(move || {
        let page = page.clone();
        async move {
            (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    (header::REFERRER_POLICY, "no-referrer"),
                ],
                page.to_string(),
            )
        }
    })
}

const STYLE: &str = "\
:root{--ink:#1d2733;--muted:#5b6776;--line:#d9dee5;--bg:#f6f8fa;--accent:#1f4e8c}\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.55 -apple-system,'Segoe UI','PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;color:var(--ink);background:#fff}\
header,nav,main>section,.security{max-width:1100px;margin:0 auto;padding:0 24px}\
header{padding-top:24px;border-bottom:3px solid var(--accent)}\
h1{margin:0 0 4px;font-size:26px;color:var(--accent)}\
h2{margin:32px 0 12px;font-size:21px;border-bottom:1px solid var(--line);padding-bottom:4px}\
h3{margin:0 0 8px;font-size:17px}\
h4{margin:16px 0 6px;font-size:14px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}\
.title{font-size:17px;margin:0 0 8px}.version{color:var(--muted);font-size:14px}\
a{color:var(--accent)}\
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg);padding:1px 4px;border-radius:3px}\
nav ul{list-style:none;padding-left:0}nav ul ul{padding-left:18px;margin:4px 0 10px}\
nav li{margin:2px 0}nav a{text-decoration:none}\
.operation{border:1px solid var(--line);border-radius:6px;padding:16px 18px;margin:16px 0;background:#fff}\
.method{display:inline-block;min-width:58px;text-align:center;font:bold 12px/20px ui-monospace,monospace;color:#fff;border-radius:3px;padding:0 6px;background:#6b7785}\
.method.get{background:#2f7d4f}.method.post{background:#1f5fae}.method.put,.method.patch{background:#a86a12}.method.delete{background:#b23a3a}\
.path{font-size:15px;background:none}\
.summary{font-weight:600;margin:4px 0}\
.auth{font-size:13px;color:#7a4b00;background:#fff6e0;border-left:3px solid #e0a100;padding:4px 8px}\
.auth.open{color:#245c34;background:#eaf6ee;border-color:#2f7d4f}\
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:14px}\
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}\
th{background:var(--bg);font-weight:600}\
td p{margin:0 0 4px}.limits{color:var(--muted);font-size:13px}\
tr.error td:first-child code{color:#b23a3a}tr.ok td:first-child code{color:#2f7d4f}\
.media{margin:2px 0}\
.schema{margin:18px 0}\
@media print{.operation{break-inside:avoid}}\
";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escape_covers_the_five_special_characters() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    /// Issue 5 item 3: the page shows every operation of the real document, its schemas and
    /// how to authenticate, and needs nothing from outside (no script, no outside URL).
    #[test]
    fn the_page_lists_every_path_and_schema_of_the_document_and_loads_nothing() {
        let document = super::super::openapi();
        let html = render(&document);
        let value = serde_json::to_value(&document).expect("json");
        let paths = value["paths"].as_object().expect("paths");
        assert!(!paths.is_empty());
        for (path, item) in paths {
            assert!(html.contains(&escape(path)), "{path} missing");
            for method in METHODS {
                if item.get(method).is_some() {
                    assert!(
                        html.contains(&format!("class=\"method {method}\"")),
                        "{method} {path} missing"
                    );
                }
            }
        }
        for schema in value["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .keys()
        {
            assert!(
                html.contains(&format!("id=\"{}\"", anchor("schema", schema))),
                "{schema} missing"
            );
        }
        assert!(
            html.contains("<code>to</code>"),
            "SendRequest's fields are listed"
        );
        assert!(html.contains("Authorization: Bearer &lt;key&gt;"));
        assert!(html.contains("href=\"/api/openapi.json\""));
        assert!(html.contains("认证 Authentication"));
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "no JavaScript");
        assert!(
            !lower.contains("src=") && !lower.contains("href=\"http") && !lower.contains("url("),
            "nothing from outside"
        );
        assert!(!lower.contains("<link"), "no outside stylesheet");
    }

    /// Everything taken from the document is escaped: a hostile description, path, tag,
    /// property name or enum value cannot inject markup.
    #[test]
    fn text_from_the_document_is_escaped_everywhere() {
        let evil = "<script>alert('x')</script>";
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": evil, "version": evil, "description": evil},
            "tags": [{"name": evil, "description": evil}],
            "paths": {
                "/api/<x>": {
                    "post": {
                        "tags": [evil],
                        "summary": evil,
                        "description": format!("`{evil}` and {evil}"),
                        "operationId": evil,
                        "parameters": [{"name": evil, "in": "query", "description": evil,
                                        "required": true, "schema": {"type": evil}}],
                        "requestBody": {"content": {evil: {"schema": {"$ref": "#/components/schemas/E"}}}},
                        "responses": {evil: {"description": evil,
                            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{evil}")}}}}}
                    }
                }
            },
            "components": {"schemas": {
                "E": {"type": "object", "required": [evil], "properties": {
                    evil: {"type": "string", "description": evil, "example": evil,
                           "enum": [evil]}
                }},
            }, "securitySchemes": {evil: {"type": evil, "scheme": evil, "bearerFormat": evil}}}
        });
        let html = Renderer::new(&doc).render();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("alert('x')"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("/api/&lt;x&gt;"));
        // Anchors are cleaned, not just escaped.
        assert!(
            html.contains("id=\"op--script-alert--x----script-\""),
            "{html}"
        );
    }

    #[test]
    fn nullable_arrays_enums_and_references_read_as_types() {
        let doc = json!({"components": {"schemas": {"Q": {"type": "object"}}}});
        let r = Renderer::new(&doc);
        assert_eq!(
            r.type_html(&json!({"type": ["string", "null"]})),
            "string | null"
        );
        assert_eq!(
            r.type_html(&json!({"type": "integer", "format": "int64"})),
            "integer (int64)"
        );
        assert_eq!(
            r.type_html(&json!({"type": "array", "items": {"$ref": "#/components/schemas/Q"}})),
            "array of <a href=\"#schema-Q\">Q</a>"
        );
        assert_eq!(
            r.type_html(&json!({"type": "string", "enum": ["todo", "read"]})),
            "string: <code>todo</code>, <code>read</code>"
        );
        assert_eq!(
            r.type_html(&json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Q"}]})),
            "null | <a href=\"#schema-Q\">Q</a>"
        );
    }
}
