"""One catalogue of every message a user can see, and the exceptions that carry them.

Modelled on pyxform's ``ErrorCode``: each member is a code (topic prefix + number)
whose value is a Chinese message template. Code raises :class:`FanpinError` (or a
subclass) holding one or more :class:`Problem` objects; only ``cli/base.py`` turns them
into ``click.ClickException``. Tests assert against ``Code.X.format(...)``, never
against copied strings.

Location prefixes follow what the user can act on:

* spec files: ``file:line:column: message`` (line and column 1-based);
* data files: ``file 第N行 「字段」: message`` with N the row number as Excel shows it.

Sensitive values (ID numbers, phones, bank accounts) must be masked by the caller
before they are put into a message context: see :mod:`fanpin_forms.privacy.masking`. As a
safety net for values typed into a column not marked sensitive, every value put
into a message and every location goes through
:func:`fanpin_forms.privacy.masking.scrub_shapes`, which masks whatever reads as an ID
number, a phone or a bank account (dates, 户编号, row numbers and amounts stay; the
catalogue's own wording, such as the example number 0730-1234567, is not touched).
"""

from __future__ import annotations

import difflib
import errno
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from .privacy.masking import scrub_shapes


class Code(str, Enum):
    """Message templates. ``{name}`` placeholders are filled from a Problem's context."""

    # --- spec files (SPEC_*) ---------------------------------------------------
    SPEC_YAML = "YAML 语法错误：{problem}"
    SPEC_NOT_MAPPING = "{what}应当是一个映射（键: 值），实际是{actual}"
    SPEC_NOT_LIST = "{what}应当是一个列表，实际是{actual}"
    SPEC_NOT_STRING = "{what}应当是文字，实际是{actual}"
    SPEC_BAD_VALUE = "{what}的值「{value}」无效：{why}"
    SPEC_UNKNOWN_KEY = "未知的键「{key}」（{where}）{hint}"
    SPEC_MISSING_KEY = "缺少必需的键「{key}」（{where}）"
    SPEC_UNKNOWN_TYPE = "未知的字段类型「{type}」{hint}；可用类型：{known}"
    SPEC_DUPLICATE_KEY = "重复的{what}「{key}」，第一次定义在第 {first_line} 行"
    SPEC_UNDEFINED_FIELD = "引用了未定义的字段「{name}」{hint}"
    SPEC_UNDEFINED_CODE_LIST = "引用了未定义的代码表「{name}」{hint}"
    SPEC_UNDEFINED_STAGE = "引用了未定义的环节「{name}」{hint}"
    SPEC_BAD_PLACEHOLDER = "文字中的占位符「{text}」无法解析：{why}"
    SPEC_DUPLICATE_CODE = "代码编号 {no} 在代码表「{list_a}」和「{list_b}」中重复"
    SPEC_EXTENDS_UNKNOWN = "扩展的表单「{form}」不存在{hint}"
    SPEC_DUPLICATE_FORM = "表单编号「{form}」已由 {first} 定义，{second} 又定义了一次"
    SPEC_UNKNOWN_FORM = "没有编号为「{form}」的表单{hint}；已有表单：{known}"
    SPEC_EXTENSION_VERSION = "扩展改变了打印内容（layout 或 notes），须写明自己的版本号 version（如 \"pj1\"），表单版本将成为「原版本+扩展版本」，以便二维码和扫描识别区分新旧版式"
    SPEC_INCLUDE_BAD = "include 的文件「{name}」不存在或不在表单定义所在的文件夹内（只能包含同一文件夹或其子文件夹中的代码表文件）"
    SPEC_CODE_LIST_TWICE = "代码表「{name}」已在 {other} 中定义，这里又定义了一次"
    SPEC_FILE_MISSING = "找不到表单定义文件：{path}"

    # --- plugins (PLUGIN_*) --------------------------------------------------
    PLUGIN_IMPORT = "插件「{plugin}」（{dist}）加载失败：{why}"
    PLUGIN_INVALID = "插件「{plugin}」（{dist}）不合规：{why}"
    PLUGIN_BAD_REGISTRATION = "插件「{plugin}」注册的{what}无效：{why}"
    COUNTY_NONE = "没有安装任何县级插件。请安装一个县级插件（例如 plugins/yueyang）"
    COUNTY_AMBIGUOUS = "安装了多个县级插件（{known}），请用 --county 或环境变量 FANPIN_FORMS_COUNTY 选择一个"
    COUNTY_UNKNOWN = "没有名为「{county}」的县级插件{hint}；已安装：{known}"
    COUNTY_DUPLICATE = "县级插件编号「{county}」被 {first} 和 {second} 重复注册"
    COUNTY_VALUE_MISSING = "县级插件的 County「{county}」没有给出这些政策值：{values}。每个值都须在插件中写明（核心不带任何县的默认值）"
    RULE_UNKNOWN_COLUMN = "插件「{plugin}」的规则 {rule} 读取的列「{key}」不在监测对象台账中（县里新增的列须在插件中注册一个 extends: ledger 的表单扩展）{hint}"
    RULE_NO_SOURCE = "{county}的县级插件未给出此项规定的原文出处（County.sources 中没有 {keys}）"
    POLICY_NO_BASELINE = ("{county}的政策表中没有 {year} 年的监测收入基准线（已有年份：{known}）；可用 --year 指定已有的年份，"
                          "或由县乡村振兴局按文件录入该年的基准线：fanpin policy set baseline {year} 金额 --source \"文号\"")

    # --- data files (DATA_*) -------------------------------------------------
    DATA_FILE_MISSING = "找不到数据文件：{path}"
    DATA_FILE_TYPE = "不支持的数据文件类型「{suffix}」；支持 .xlsx、.csv、.json、.jsonl"
    DATA_FILE_UNREADABLE = "无法读取数据文件：{why}"
    DATA_FILE_ENCODING = "无法识别 CSV 文件的编码（已尝试 UTF-8、UTF-16 和 GB18030），请另存为 UTF-8 CSV 或 .xlsx"
    DATA_FILE_EMPTY = "数据文件中没有任何记录"
    DATA_NO_HEADER = "找不到表头行：前 {rows} 行中没有可识别的列名（例如「户主姓名」「身份证号码」）"
    DATA_DUPLICATE_HEADER = "列名「{header}」出现了两次（第 {first} 列和第 {second} 列）"
    DATA_AMBIGUOUS_HEADER = "列「{header_a}」和列「{header_b}」都对应字段「{label}」，请删除其中一列"
    DATA_UNKNOWN_HEADER = "列名「{header}」不是本表单的字段，已忽略{hint}"
    DATA_MISSING_COLUMN = "缺少必填字段「{label}」对应的列（可用列名：{aliases}）"
    DATA_JSON_SYNTAX = "JSON 格式错误（第 {line} 行第 {col} 列）：{why}"
    DATA_JSON_NOT_OBJECT = "每条记录应当是一个 JSON 对象（键: 值）"
    DATA_FOOTER_SKIPPED = "这一行像是合计或落款行（合计、填表人等），已跳过"
    DATA_DUPLICATE_CASE_ID = "户编号「{case_id}」重复，第 {first} 行已经使用"
    DATA_UNKNOWN_SHEET = "没有名为「{sheet}」的工作表{hint}；文件中的工作表：{known}"
    DATA_JSON_NO_RECORDS = "JSON 文件应当是一个记录数组，或是带有「records」数组的对象；实际是{actual}"
    DATA_JSON_DUPLICATE_KEY = "键「{key}」在同一条记录中出现了两次"

    # --- values in a record (VALUE_*) ------------------------------------------
    VALUE_REQUIRED = "必填，不能为空"
    VALUE_NOT_INTEGER = "「{value}」不是整数"
    VALUE_NOT_NUMBER = "「{value}」不是数字"
    VALUE_TOO_SMALL = "「{value}」小于允许的最小值 {min}"
    VALUE_TOO_LARGE = "「{value}」大于允许的最大值 {max}"
    VALUE_TOO_LONG = "「{value}」太长：最多 {max} 个字，实际 {length} 个字"
    VALUE_NOT_DATE = "「{value}」不是有效日期（可写作 2022-06-01、2022/6/1 或 2022年6月1日）"
    VALUE_MONEY = "「{value}」不是有效金额（最多两位小数，例如 6900 或 6900.50）"
    VALUE_BAD_CHOICE = "「{value}」不是有效选项；可选：{known}{hint}"
    VALUE_BAD_CODE = "「{value}」不是有效的序号或名称{hint}；可填：{known}"
    VALUE_CODE_WRONG_GROUP = "{mark}「{name}」属于「{other}」，不能填在「{label}」中（本栏只能填 {allowed}）"
    VALUE_REASON_REQUIRED = "选择了 {mark}「{name}」，必须在「{reason_label}」中写明具体原因"
    VALUE_EXCEL_NUMBER_ID = "身份证号被 Excel 存成了数字（{value}），末几位可能已丢失；请把该列设为“文本”格式后重新填写"
    VALUE_ID_LENGTH = "身份证号 {value} 应为 18 位，实际 {length} 位"
    VALUE_ID_CHARS = "身份证号 {value} 只能由数字和末位的 X 组成"
    VALUE_ID_REGION = "身份证号 {value} 的前两位 {prefix} 不是有效的省级行政区划代码"
    VALUE_ID_BIRTH = "身份证号 {value} 中的出生日期 {birth} 无效（日期不存在、早于1900年或晚于今天）"
    VALUE_ID_CHECKSUM = "身份证号 {value} 校验位错误（按 GB 11643 应为 {expected}），请核对是否抄错"
    VALUE_ID_OLD15 = "身份证号 {value} 是已停用的 15 位旧号码，请填写 18 位号码"
    VALUE_PHONE = "联系电话 {value} 无效：手机号应为 1 开头的 11 位数字，座机应为区号加 7–8 位号码（如 0730-1234567）"
    VALUE_TABLE_NOT_LIST = "应当是若干行的列表"
    VALUE_NEGATIVE = "「{value}」不能为负数"

    # --- record-level checks (CHECK_*) -----------------------------------------
    CHECK_FINDING = "{message}"
    CHECK_SIZE_VS_MEMBERS = "家庭人口为 {size} 人，但家庭成员表中有 {members} 人"

    # --- everything else (IO_*) ----------------------------------------------
    IO_WRITE = "无法写入 {path}：{why}"

    # --- DOCX -> PDF via LibreOffice (RENDER_*) --------------------------------
    RENDER_NO_LIBREOFFICE = (
        "找不到 LibreOffice（soffice 命令），无法生成 PDF。"
        "请先运行安装命令：{setup}（会安装 LibreOffice 和中文字体）"
    )
    RENDER_TIMEOUT = "LibreOffice 转换 PDF 超时（超过 {seconds} 秒），已强制结束。未完成的文件：{files}"
    RENDER_FAILED = "LibreOffice 转换 PDF 失败：{why}。涉及的文件：{files}。LibreOffice 输出：{stderr}"
    RENDER_INPUT_MISSING = "找不到要转换为 PDF 的文件：{path}"
    RENDER_DUPLICATE_NAME = "多个文件会生成同名的 PDF「{name}」：{files}；请让文件名各不相同"
    RENDER_PDF_UNREADABLE = "无法读取 PDF 文件 {path}：{why}"

    # --- templates, filling, QR codes: fanpin_forms/render/ (RENDER_*) ----------
    RENDER_TEMPLATE_MISSING = "找不到模板文件：{path}"
    RENDER_TEMPLATE_UNREADABLE = "模板文件 {path} 不是有效的 Word 文档（.docx）：{why}"
    RENDER_TEMPLATE_SYNTAX = "模板 {path} 的填写标记有语法错误：{why}（附近文字：「{near}」）"
    RENDER_TEMPLATE_UNSAFE = (
        "模板 {path} 含有不允许的写法（{why}）：模板只能引用表单的值，不能访问程序内部。"
        "请删除这个标记，或用 fanpin templates build 重新生成模板"
    )
    RENDER_TEMPLATE_UNKNOWN_VAR = "模板 {path} 中的「{name}」不是本表单可用的值{hint}"
    RENDER_TEMPLATE_MISSING_FIELD = "模板 {path} 中没有必填项「{label}」的空格（应含 {var}）"
    RENDER_TEMPLATE_NO_QR = (
        "模板 {path} 中没有二维码占位图（替代文字为「fanpin-qr」的图片），"
        "打印出的表将无法被自动识别；请从 fanpin templates build 生成的模板开始修改"
    )
    RENDER_TEMPLATE_FAILED = "模板 {path} 填写失败：{why}"
    RENDER_TEMPLATE_BAD_XML = "模板 {path} 填写后不是有效的 Word 文档（{why}）；请检查模板中的循环、条件标记是否成对"
    RENDER_NAME_SENSITIVE = "文件名格式不能使用「{name}」（{label}）：敏感信息不能出现在文件名中（可用：{allowed}）"
    RENDER_NAME_UNKNOWN = "文件名格式中的「{name}」不是可用的名称{hint}（可用：{allowed}）"
    RENDER_NAME_BAD = "文件名格式「{pattern}」无效：{why}"
    RENDER_QR_FORMAT = "二维码内容「{text}」不是 fanpin 表单编码：{why}"
    RENDER_QR_CHECKSUM = "二维码内容「{text}」校验码错误（应为 {expected}），可能识读有误"
    RENDER_NO_RECORDS = "数据文件 {file} 中没有可以生成的记录"
    RENDER_PDF_PAGES = "第 {index} 份表（{form}）排版后有 {pages} 页，应为 1 页（每页要有自己的二维码）：请缩短过长的内容，如其他原因、村名"
    RENDER_BAD_OUTPUT = "输出文件 {path} 的扩展名应为 {expected}"
    RENDER_NOT_PRINTABLE = "「{form}」不是要打印的表（类型 {kind}）；可打印的表：{known}"

    # --- reading returned scans back: fanpin_forms/readback/ (READ_*) -----------
    READ_FILE_MISSING = "找不到文件：{path}"
    READ_FILE_TYPE = "不支持的文件类型「{suffix}」；支持 PDF 和图片（PNG、JPEG、TIFF）"
    READ_FILE_EMPTY = "文件是空的（0 字节）"
    READ_FILE_UNREADABLE = "无法读取：{why}"
    READ_PDF_ENCRYPTED = "PDF 文件有密码保护，请先去除密码再读取"
    READ_NO_INPUT = "没有找到可以读取的文件（支持 PDF 和图片：PNG、JPEG、TIFF）"
    READ_PAGE_FAILED = "这一页无法处理：{why}"
    READ_FOREIGN = "不是本系统打印的表单（{why}）"
    READ_EMPTY_PAGE = "空白页"
    READ_UNKNOWN_FORM = "二维码中的表单「{form}」（版本 {version}）不是本程序认识的表单，无法读取；已有：{known}"
    READ_DUPLICATE = "与 {first} 重复（同一份表的同一页扫描了两次），已跳过这一页"
    READ_ID_FROM_TEXT = "二维码无法识读，已按页面上印的表单编号识别，请核对"
    READ_ID_FROM_TITLE = "二维码和表单编号都无法识读，只能按标题识别是哪种表，无法确定是哪一户"
    READ_MISSING_PAGES = "这份表共 {pages} 页，缺少第 {missing} 页"
    READ_ALIGN_LOW = "扫描页与空白表对不齐（吻合度 {score}），勾选、签字的读取结果可能不准"
    READ_REFERENCE_FAILED = "无法生成表单「{form}」的空白参照页（读取扫描件需要它）：{why}"
    READ_TICK_UNCERTAIN = "无法确定 {mark}（{name}）是否打勾（方框内墨迹 {ratio}）"
    READ_TICK_STRUCK = "{mark}（{name}）的方框像是被划掉或涂改过，请人工确认"
    READ_CODES_WRITTEN = "「{label}」的方框都没有勾选，按手写的序号读出「{text}」，可信度低"
    READ_SIGN_UNCERTAIN = "无法确定「{role}」是否已{mark}（墨迹 {amount} 平方毫米）"
    READ_DATE_UNCERTAIN = "日期识读不确定：读出「{text}」"
    READ_DATE_INVALID = "日期「{text}」无效：{why}"
    READ_FIELD_UNREAD = "「{label}」没能读出"
    READ_FIELD_UNCERTAIN = "「{label}」识读不确定：读出「{value}」"
    READ_FIELD_MISMATCH = "「{label}」读出「{value}」，与农户信息表不一致（农户信息表：「{expected}」）"
    READ_TABLE_ROW_MISMATCH = "「{table}」第 {row} 行的{labels}与农户信息表不一致，请核对"
    READ_TABLE_ROW_HANDWRITTEN = "「{table}」第 {row} 行是手写的（农户信息表中没有），请核对并录入"
    READ_TABLE_ROW_UNCERTAIN = "「{table}」第 {row} 行识读不确定（{labels}），请核对"
    READ_NO_RECORD = "农户信息表 {data} 中没有{what}「{ident}」的记录，无法核对打印内容"
    READ_REVIEW_FILE_UNREADABLE = "无法读取更正表 {path}：{why}"
    READ_REVIEW_NO_COLUMNS = "更正表 {path} 中找不到「条目编号」和「更正值」两列（第一行应为列名）"
    READ_REVIEW_UNKNOWN_ID = "更正表第 {row} 行：没有编号为「{id}」的复核条目{hint}"
    READ_REVIEW_DUPLICATE_ID = "更正表第 {row} 行：条目「{id}」在第 {first} 行已经更正过"
    READ_REVIEW_BAD_VALUE = "更正表第 {row} 行（{id}，{item}）：「{value}」无效：{why}"
    READ_REVIEW_RECORDS_UNREADABLE = "无法读取识别结果文件 {path}：{why}"

    # --- case rules and public notices (RULE_*, NOTICE_*) ----------------
    RULE_CRASHED = "插件「{plugin}」的规则「{rule}」检查{where}时出错：{why}"
    RULE_BAD_RESULT = "插件「{plugin}」的规则「{rule}」返回了无效的结果：{why}"
    NOTICE_NOTHING = "监测对象台账 {data} 中没有需要{what}的户（{why}）"
    NOTICE_COLUMN_SENSITIVE = "插件「{plugin}」要在公示公告中显示的列「{label}」（{key}）是敏感信息，公示公告中不得出现"
    NOTICE_SENSITIVE = "生成的{what}中出现了敏感信息（{kind}，{where}），已停止，未写出任何文件"
    NOTICE_BAD_RANGE = "日期范围无效：开始日期 {start} 晚于结束日期 {end}"

    # --- command line and validate (CLI_*, DATA_*) ----------------------------
    DATA_DUPLICATE_ID_NUMBER = "{label} {value} 重复：与第 {first} 行是同一个号码（每户只能有一行）"

    # --- templates: limits and dangerous content (RENDER_TEMPLATE_*) ------------
    RENDER_TEMPLATE_LIMIT = (
        "模板 {path} 填写「{form}」时超出限制：{why}；未生成任何文件。"
        "请简化模板中的循环和运算，或用 fanpin templates build 重新生成模板"
    )
    RENDER_TEMPLATE_ZIP = "模板 {path} 的压缩包异常（{why}），可能是“压缩炸弹”，已拒绝使用"
    RENDER_TEMPLATE_DTD = (
        "模板 {path} 的 {part} 中有 DTD 或实体声明（<!DOCTYPE、<!ENTITY>），Word 文档不会有这些内容，"
        "可能是恶意文件，已拒绝使用"
    )
    RENDER_TEMPLATE_EXTERNAL = (
        "模板 {path} 的 {part} 中有外部链接（{kind}：{target}）：打开填好的表时 Word 可能访问这个地址。"
        "模板中不能有外部链接、远程图片或附加模板，请删除后再用"
    )
    RENDER_TEMPLATE_FIELD_VAR = (
        "模板 {path} 的 {part} 中，Word 域代码「{field}」里有填写标记：打开填好的表时 Word 可能把这个值"
        "（如身份证号）发送出去。请删除这个域，把填写标记直接写在正文中"
    )
    RENDER_TEMPLATE_FIELD_FETCH = (
        "模板 {path} 的 {part} 中有会读取外部文件或网址的 Word 域代码「{field}」，已拒绝使用；请删除这个域"
    )
    RENDER_TEMPLATE_TRIAL = "模板 {path} 试填一份用时 {seconds} 秒（上限 {limit} 秒）"
    RENDER_TEMPLATE_EXISTS = "{path} 已存在，未覆盖（可能是修改过的模板）；要覆盖请加 --force，或用 -o 指定别的目录"

    # --- writing files, interruptions, leftovers: atomic.py, pdf.py, render/ (IO_*) ---
    IO_NAME_TOO_LONG = (
        "文件名太长，无法写入 {folder}：「{name}」有 {size} 字节，这个磁盘的文件名最多 {limit} 字节"
        "（一个汉字占 3 字节）{more}；请用 --name 换一个较短的文件名格式。未生成任何文件"
    )
    IO_EXISTING_FILES = (
        "输出目录 {folder} 中已有 {total} 个文件：{replaced} 个与本次生成的同名，将被替换；"
        "{unrelated} 个不是本次生成的（可能是以前运行留下的），打印时请不要混在一起"
    )
    IO_INTERRUPTED = "已中断，未完成的文件已清理"

    # --- privacy: the leak guard, formulas in cells ------------------------------
    NOTICE_PRIVATE_VALUE = (
        "「{value}」中有{kinds}{whose}，{what}中不得公开（二、5）；请在监测对象台账中改正这一格后重新生成。未写出任何文件"
    )
    VALUE_FORMULA = "「{value}」以「{char}」开头，Excel 会把它当作公式执行；请删去开头的「{char}」"

    # --- page id authentication: secret.py, render/qr.py, readback identity and duplicates ---
    SECRET_CREATE = "无法创建本机密钥文件 {path}：{why}（可用环境变量 FANPIN_FORMS_SECRET_FILE 指定别的位置）"
    SECRET_OPEN = "本机密钥文件 {path} 的权限过宽（{mode}）：别人读到它就能伪造表单的二维码；请执行 chmod 600 {path}"
    SECRET_UNREADABLE = "无法读取本机密钥文件 {path}：{why}"
    RENDER_QR_MAC = "二维码「{text}」的防伪码不符：不是用本机（或本县共用的）密钥打印的，或内容被改动过"
    READ_QR_UNVERIFIED = ("二维码的防伪码与本机密钥不符（二维码写的是 {ident}）：这张表不是用本机（或本县共用密钥的电脑）"
                          "打印的，或二维码被伪造、替换过；{printed}请核对是哪一户")
    READ_QR_LEGACY = "二维码是旧版格式（FPF1），没有防伪码，无法确认是本系统打印的：已按二维码识别为 {ident}，请核对"
    READ_ID_MISMATCH = "二维码（{qr}）与页面上印的编号（{printed}）不一致，二维码可能被替换或贴错；已按{used}识别，请核对是哪一户"
    READ_ID_PRINTED_SAME = "页面上印的编号与二维码一致。"
    READ_ID_PRINTED_UNREAD = "页面上印的编号没能读出。"
    READ_DUPLICATE_PAGE = "与 {kept} 重复（同一份表的同一页扫描了两次），采用了那一页（{why}），这一页未采用"
    READ_DUPLICATE_KEPT = "第 {page_no} 页有两份：采用 {kept}（{why}），未采用 {dropped}"
    READ_DUPLICATE_DISAGREE = ("第 {page_no} 页有两份，都有手写内容但读出的不一致（{diff}）：暂按 {kept}（{why}），"
                               "未采用 {dropped}；请对照两份原件核对")
    READ_DUPLICATE_MORE_INK = "签字、盖章、手印、日期多 {n} 处"
    READ_DUPLICATE_SCAN = "扫描件，另一份是没有手写内容的电子文件"
    READ_DUPLICATE_SAME = "两份内容相同，采用先读到的一份"
    READ_DUPLICATE_FIRST = "两份的手写内容一样多，采用先读到的一份"

    # --- phone photos of returned forms: readback/photo.py (PHOTO_*) ---
    PHOTO_TOO_SMALL = "照片太小（{width}×{height} 像素），看不清表格；请正对整页重新拍摄（至少约 {need} 万像素）"
    PHOTO_TOO_LARGE = "照片太大（{width}×{height} 像素，上限 {limit} 万像素）"
    PHOTO_BLURRED = "照片模糊（清晰度 {sharpness}，至少需要 {need}），勾选和签字无法可靠读取；请对焦后重新拍摄"
    PHOTO_NO_PAGE = "照片中找不到完整的表单页（{why}）；请把整页平放、四个角都拍进画面后重新拍摄"

    # --- input caps: fanpin_forms/limits.py, zipguard.py -------------------------
    DATA_FILE_TOO_LARGE = "文件太大（{size}），{kind}的上限是 {max}；请把数据分成几个文件"
    DATA_ZIP_LIMIT = "文件解压后过大，可能是被恶意构造的文件，已拒绝打开：{why}"
    DATA_TOO_MANY_ROWS = "有内容的行超过 {max} 行（每个工作表或文件的上限），请把数据分成几个文件"
    DATA_TOO_MANY_COLUMNS = "第 {column} 列有内容，超过了每个工作表最多 {max} 列的上限：请删除表格右侧多余的内容"
    DATA_TOO_MANY_CELLS = "有内容的单元格超过 {max} 个（每个工作表的上限），请把数据分成几个文件"
    DATA_BEYOND_EXCEL = "单元格 {cell} 超出了 Excel 表格的范围（最多 {rows} 行、{columns} 列），文件已损坏或被篡改"
    DATA_JSON_TOO_MANY_KEYS = "记录中共有 {count} 个不同的键，超过上限 {max} 个"
    DATA_JSON_TOO_MANY_VALUES = "JSON 文件中的对象和数组超过 {max} 个（上限），请把数据分成几个文件"
    READ_FILE_TOO_LARGE = "文件太大（{size}），{kind}的上限是 {max}；请分成几个文件"
    READ_TOO_MANY_PAGES = "文件超过 {max} 页（每个文件的上限），请分成几个文件"
    READ_PAGE_TOO_LARGE = "页面太大（{width}×{height} 毫米），按最低 {dpi} dpi 也要 {pixels} 万像素，上限 {max} 万像素，已跳过这一页"
    READ_IMAGE_TOO_LARGE = "图片太大（{size}），上限 {max} 万像素；请用 600 dpi 以下的分辨率重新扫描"
    SPEC_FILE_TOO_LARGE = "表单定义文件太大（{size}），上限 {max}"
    SPEC_YAML_ALIAS = "表单定义不支持 YAML 锚点和别名（「{text}」）：请把内容直接写出来"
    SPEC_YAML_MERGE = "表单定义不支持 YAML 合并键「<<」：请把要合并的键直接写出来"
    SPEC_YAML_TAG = "表单定义中不允许使用 YAML 标签「{tag}」：只能写普通的文字、数字、列表和映射"
    SPEC_YAML_DEPTH = "嵌套超过 {max} 层：表单定义不需要这么深的嵌套"
    # --- read-back on office paper: grey and 1-bit scans, seals by shape, crowded signatures --------
    READ_DATE_MISSING = "「{role}」已签字，但没有读出日期，请核对"
    READ_DATE_OVERLAP = "签字或印章压到了日期上，读出「{text}」，请核对日期"
    READ_SEAL_NO_COLOUR = "扫描件没有颜色，无法按红色确认「{role}」是否盖章（签章处墨迹 {amount} 平方毫米，{ring}），请核对"
    READ_SEAL_RING = "找到印章的圆环"
    READ_SEAL_NO_RING = "没有找到印章的圆环"
    READ_TICK_FAINT = "{mark}（{name}）方框内有很淡的笔迹（{ratio}），无法确定是否打勾"

    # --- the case ledger (LEDGER_*): database, import, export ---------------------------
    LEDGER_CORRUPT = "台账数据库 {db} 已损坏或不是数据库文件（{why}）；请从备份恢复，或用 --db 指定另一个文件"
    LEDGER_FOREIGN = "{db} 不是本工具的台账数据库（其中已有其他程序的数据表：{tables}）；请用 --db 指定另一个文件"
    LEDGER_TOO_NEW = ("台账数据库 {db} 由更新版本的 fanpin 创建（数据库版本 {revision}，本程序只认识到 {head}）；"
                      "请升级 fanpin 后再用，不要用旧版本打开")
    LEDGER_READ_ONLY = "台账数据库 {db} 是只读的，无法写入：{why}"
    LEDGER_DISK_FULL = "磁盘已满，台账数据库 {db} 未写入任何内容（本次操作已整体撤销）；请清理磁盘后重试"
    LEDGER_UNAVAILABLE = "无法打开台账数据库 {db}：{why}"
    LEDGER_BUSY = "台账数据库 {db} 正被另一个命令长时间占用，等待超时；请稍后再试"
    LEDGER_BAD_URL = "数据库地址「{url}」无法识别：请写一个文件路径，或 sqlite:///…、postgresql+psycopg://… 形式的地址"
    LEDGER_WRITE_FAILED = "写入台账数据库 {db} 失败，本次操作已整体撤销：{why}"
    LEDGER_NOT_IMPORTED = "以下 {count} 行数据有误，台账未作任何改动（加 --skip-invalid 可跳过这些行导入其余各行）"
    LEDGER_ID_ELSEWHERE = "身份证号码 {id} 已属于台账中的另一户（户编号 {other}），不能再用于户编号 {case_id}"
    LEDGER_DUPLICATE_ROW = "与第 {first} 行是同一户（{key}），一户只能有一行"
    LEDGER_UNSUPPORTED_FILE = "不支持的台账文件格式「{suffix}」：请用 .xlsx、.xls、.ods 或 .csv"
    LEDGER_SHEET_UNREADABLE = "无法读取表格：{why}"
    LEDGER_NO_CASE_ID = "缺少户编号和身份证号码，无法确定是哪一户"

    # --- ledger status, history, policy values, monthly report --------------------------
    LEDGER_CASE_UNKNOWN = "台账中没有户编号或案件编号为「{case}」的户{hint}"
    LEDGER_REVIEW_CONFLICT = "这一项已由「{who}」复核为「{value}」，您的决定未写入；请看清后再决定是否更正"
    LEDGER_REVIEW_VALUE = "「{value}」不是有效的{what}（{hint}）"
    LEDGER_REVIEW_UNKNOWN = "没有这个复核项（可能不存在，或不在您的辖区内）"
    POLICY_UNKNOWN_NAME = "没有名为「{name}」的政策值{hint}；可设置的有：{known}"
    POLICY_BAD_VALUE = "政策值「{label}」的值「{value}」无效：{why}"
    POLICY_BAD_YEAR = "年份「{year}」无效：应为 {min} 至 {max} 之间的年份"
    REPORT_BAD_MONTH = "月份「{month}」无效：请写成 2022-06 这样的年月"
    REPORT_BAD_SUFFIX = "月报只能输出为 .xlsx 或 .docx 文件，「{name}」的后缀不支持"
    # --- disputed households' evidence and the village archive (ledger evidence|archive) -------
    LEDGER_EVIDENCE_MISSING = "证据材料文件不存在或无法读取：{why}"
    LEDGER_EVIDENCE_TOO_LARGE = "证据材料文件太大（{size}），每个文件的上限是 {max}；请压缩或拆分后再添加"
    LEDGER_EVIDENCE_EMPTY = "证据材料文件是空的"
    LEDGER_EVIDENCE_BAD_TYPE = ("证据材料只能是 PDF、图片（JPEG、PNG、TIFF）或 Word/Excel 文件（.docx、.xlsx）；"
                                "这个文件的内容{what}")
    LEDGER_EVIDENCE_MISMATCH = "文件的内容是{actual}，与扩展名「{suffix}」不符；请改正扩展名后再添加"
    LEDGER_EVIDENCE_NO_NOTE = "请用 --note 写明证据材料的说明（如 村民代表会议记录、入户照片）"
    LEDGER_EVIDENCE_STORE_MISSING = "台账文件库中缺少{what}「{name}」的副本（{path}），档案未输出；请从备份恢复台账文件库"
    LEDGER_ARCHIVE_EMPTY = "台账中没有{where}的户，档案未输出"
    LEDGER_ARCHIVE_AMBIGUOUS = "有 {count} 个乡镇都有名为「{village}」的村（{townships}），请用 --township 指明是哪个乡镇"
    LEDGER_ARCHIVE_NOT_ARCHIVE = "{path} 已存在，且不是村级档案文件夹（其中没有 汇总表.xlsx），未覆盖；请换一个输出文件夹"
    LEDGER_ARCHIVE_SCAN_UNREADABLE = "台账文件库中的扫描件「{name}」无法读取（{why}），档案未输出"
    LEDGER_ARCHIVE_LEAK = "村级档案中出现了个人隐私信息（{where}：{kind}），档案未输出"
    REPORT_LEAK = "月报中出现了个人隐私信息（{where}：{kind}），已停止输出；请检查县级插件的重点对象分组"
    # --- the web service and its API: fanpin_forms/service/ (SVC_*) -----------------
    SVC_LOGIN_FAILED = "用户名或密码不对"
    SVC_LOGIN_THROTTLED = "登录失败次数太多，请 {minutes} 分钟后再试"
    SVC_LOGIN_REQUIRED = "请先登录"
    SVC_CSRF = "页面已过期或来源不明（防跨站请求校验未通过），请刷新页面后重试"
    SVC_FORBIDDEN = "您没有权限进行这项操作"
    SVC_NOT_FOUND = "找不到这个页面或记录（可能不存在，或不在您的辖区内）"
    SVC_TOKEN_INVALID = "接口令牌无效或已吊销"
    SVC_UPLOAD_TOO_LARGE = "上传的文件太大（超过 {max}），请把数据分成几个文件"
    SVC_UPLOAD_TYPE = "「{name}」不是电子表格：只能上传 .xlsx 或 .csv 文件"
    SVC_UPLOAD_EMPTY = "没有选择文件，或文件是空的"
    SVC_OUT_OF_AREA = "这一户属于{township}{village}，不在您的辖区（{area}）内"
    SVC_BAD_ROLE = "未知的角色「{role}」；可用角色：{known}"
    SVC_ROLE_AREA = "角色「{role}」需要{needs}"
    SVC_USER_EXISTS = "用户「{name}」已存在"
    SVC_PASSWORD_SHORT = "密码至少要 {min} 个字符"
    SVC_PASSWORD_MISMATCH = "两次输入的密码不一致"
    SVC_JOB_FAILED = "任务失败：{why}"
    SVC_JOB_INTERRUPTED = "任务在服务重启时中断，请重新提交"
    SVC_JOB_UNKNOWN_KIND = "未知的任务类型「{kind}」"
    SVC_BAD_REQUEST = "请求内容不完整或无效：{why}"
    SVC_SCAN_TYPE = "「{name}」不是 PDF 或图片：扫描件只能上传 .pdf、.png、.jpg、.tif 文件"
    SVC_IMPORT_ELSEWHERE = "户编号 {case_id} 在台账中属于{place}，不在您的辖区（{area}）内，不能由您导入"
    SVC_IMPORT_REFUSED = "「{file}」第 {rows} 行不在您的辖区（{area}）内，整个表格未导入"
    SVC_NOTHING_TO_PRINT = "您的辖区（{area}）在台账中还没有户：请先上传台账并导入"
    SVC_JOB_CANCELLED = "任务已取消"
    SVC_JOB_NOT_CANCELLABLE = "任务已经结束（{state}），不能取消"
    SVC_JOB_NOT_RETRYABLE = "只有失败或已取消的任务可以重试，这个任务{state}"
    SVC_QUEUE_NEEDS_POSTGRES = "任务队列只能放在 PostgreSQL 数据库里（--queue 应为 postgresql://… 地址），当前地址是 {scheme}"
    SVC_QUEUE_UNREACHABLE = "连不上任务队列的数据库（{why}）：请检查 --queue 地址和 PostgreSQL 是否在运行"

    def format(self, **context: object) -> str:  # type: ignore[override]
        """Fill the template; missing keys render as ``?`` instead of failing."""
        return string.Formatter().vformat(self.value, (), _Tolerant(context))

    # --- the plugin author's kit: fanpin plugin new (KIT_*) ---
    KIT_BAD_CODE = "插件编号「{value}」无效：须以小写英文字母开头，只含小写字母、数字和下划线（2–31 个字符），如 pingjiang"
    KIT_BAD_NAME = "县名「{name}」无效：应为中文县（市、区、旗）名，如 平江县"
    KIT_OUT_EXISTS = "输出文件夹「{path}」已存在且不是空的：请换一个文件夹，已有的文件不会被覆盖"


#: what an operating-system error means, in the clerk's words (``os_error_text``)
OS_ERRORS: dict[int, str] = {
    errno.ENOENT: "文件或文件夹不存在（U盘或网络盘可能已断开）",
    errno.EACCES: "没有权限（文件可能正被 Excel、WPS 等程序占用，或没有这个文件夹的写入权限；请换一个文件夹或请管理员开放权限）",
    errno.EPERM: "系统不允许这项操作（文件可能被设为只读或锁定），请换一个位置或联系管理员",
    errno.EROFS: "磁盘或U盘是只读的（U盘的写保护开关可能打开了），请换一个可以写入的位置",
    errno.ENOSPC: "磁盘空间已满，请清理磁盘或换一个空间足够的位置",
    errno.EDQUOT: "已超出您在这个磁盘上的存储配额，请清理文件或联系管理员",
    errno.ENAMETOOLONG: "文件名或路径太长（文件名最多 255 字节，一个汉字占 3 字节），请缩短文件名或换一个层级较浅的文件夹",
    errno.EISDIR: "这里是一个文件夹，不是文件",
    errno.ENOTDIR: "路径中的某一级是一个文件而不是文件夹",
    errno.EEXIST: "这里已有一个同名的文件",
    errno.ENOTEMPTY: "文件夹不是空的",
    errno.EBUSY: "文件或磁盘正被其他程序占用（例如在 Word 或 WPS 中打开着），请关闭后再试",
    errno.ETXTBSY: "文件正被其他程序占用，请关闭后再试",
    errno.EMFILE: "同时打开的文件太多，请关闭其他程序后再试",
    errno.ENFILE: "系统同时打开的文件太多，请关闭其他程序后再试",
    errno.ENOMEM: "内存不足，请关闭其他程序后再试",
    errno.EIO: "磁盘读写出错（U盘可能已拔出或已损坏）",
    errno.EXDEV: "不能在两个磁盘之间直接移动文件",
    errno.ELOOP: "路径中的快捷方式（符号链接）互相指向，形成了循环",
    errno.EINVAL: "文件名或参数无效",
    errno.EFBIG: "文件太大，超过了这个磁盘格式允许的大小（如 FAT32 单个文件最大 4 GB），请换一个磁盘",
    errno.ETIMEDOUT: "操作超时（网络磁盘可能已断开）",
    errno.ESTALE: "网络盘连接已失效，请重新连接后再试",
    errno.ENODEV: "磁盘已不可用（可能已拔出）",
    errno.ENXIO: "磁盘已不可用（可能已拔出）",
}


def os_error_text(exc: OSError) -> str:
    """An :class:`OSError` explained in Chinese, for ``{why}`` in a message.

    ``exc.strerror`` is the C library's English ("No such file or directory");
    clerks read this table instead. An errno not in it is named by its number."""
    text = OS_ERRORS.get(exc.errno) if exc.errno is not None else None
    if text is not None:
        return text
    return f"系统错误（错误号 {exc.errno}）" if exc.errno is not None else "系统错误"


class _Tolerant(dict):
    def __missing__(self, key: str) -> str:
        return "?"


@dataclass(frozen=True)
class Location:
    """Where a problem is, in terms the user sees.

    ``line``/``column`` are for spec files (1-based); ``row`` is the row number as
    Excel shows it (header = row 1), ``label`` the field's Chinese label.
    """

    file: str | None = None
    line: int | None = None
    column: int | None = None
    row: int | None = None
    label: str | None = None
    sheet: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file is not None and self.line is not None:
            parts.append(f"{self.file}:{self.line}:{self.column or 1}:")
        elif self.file is not None:
            parts.append(f"{self.file}")
        if self.sheet:
            parts.append(f"工作表「{self.sheet}」")
        if self.row is not None:
            parts.append(f"第{self.row}行")
        if self.label:
            parts.append(f"「{self.label}」")
        text = " ".join(parts)
        if text and not text.endswith(":"):
            text += ":"
        return text


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning), with its catalogue code and context."""

    code: Code
    context: dict = field(default_factory=dict)
    location: Location = field(default_factory=Location)
    severity: str = "error"  # "error" | "warning"

    @property
    def message(self) -> str:
        """The message, with anything ID-, phone- or bank-shaped in its values masked."""
        return self.code.format(**{k: _scrubbed(v) for k, v in self.context.items()})

    def __str__(self) -> str:
        where = scrub_shapes(str(self.location))
        return f"{where} {self.message}" if where else self.message

    def with_location(self, **changes: object) -> Problem:
        loc = Location(**{**self.location.__dict__, **changes})
        return Problem(self.code, self.context, loc, self.severity)


def _scrubbed(value: object) -> object:
    """A context value as it may be shown: text and numbers scrubbed, anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        return value
    return scrub_shapes(str(value))


class FanpinError(Exception):
    """A user-facing failure carrying one or more problems. Never shows a traceback."""

    def __init__(self, problems: Problem | Iterable[Problem]):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def of(cls, code: Code, location: Location | None = None, **context: object):
        return cls(Problem(code, context, location or Location()))


class SpecError(FanpinError):
    """A form spec (YAML) is invalid."""


class PluginError(FanpinError):
    """A plugin could not be loaded, or registered something invalid."""


class DataError(FanpinError):
    """A data file could not be read, or some of its records are invalid."""


class RenderError(FanpinError):
    """A document could not be produced (template, LibreOffice, writing output)."""


class ReadBackError(FanpinError):
    """A returned scan could not be read."""


def did_you_mean(word: str, candidates: Sequence[str] | Iterable[str]) -> str:
    """Return ``"，您是不是要写「x」？"`` for the closest candidate, or ``""``."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"，您是不是要写「{matches[0]}」？" if matches else ""
