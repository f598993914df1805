"""What of a résumé the model may see: the text with personal identifiers and protected traits removed.

Names (labelled, the candidate's own, a bare name heading the page), e-mail, phone numbers, links, addresses,
dates of birth and age, photos and their alt text, gendered titles, and labelled protected fields (gender,
marital status, ethnicity, native place, nationality, religion, political affiliation, health) go, in English and
Chinese. Also decides whether a submitted résumé is text at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

REDACTED = "[redacted]"
MAX_RESUME_CHARS = 20_000

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL = re.compile(r"\b(https?://|www\.)\S+", re.I)
# Digits with the separators phone numbers are written with (at least nine digits, and not a date range such as
# 2018.03-2020.05); a Chinese mobile number on its own.
_PHONE = re.compile(r"(?<![\w.])\+?\(?\d[\d\s().-]{6,}\d(?![\w.])|(?<!\d)1[3-9]\d{9}(?!\d)")
_DATE_LIKE = re.compile(r"(19|20)\d\d\s*([./-]\s*\d{1,2}\b|\s*[-–~]\s*(19|20)\d\d)")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b[^>]*>", re.I)
_TITLE = re.compile(r"\b(Mr|Mrs|Ms|Miss|Mx|Sir|Madam)\b\.?\s*")
# A surname with a gendered title (张先生, 李女士) names the person and their gender: both go.
_ZH_TITLED = re.compile(r"[\u4e00-\u9fff]{1,2}(先生|女士|小姐)")
_STREET = re.compile(
    r"\b\d{1,5}\s+([A-Z][a-z]+\s+){1,3}(Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Way|Court|Ct)\b"
    r"\.?[^\n]*"
)
_ZH_ADDRESS = re.compile(
    r"[\u4e00-\u9fff]{2,}[省市][\u4e00-\u9fff\d]*?[区县镇][\u4e00-\u9fff\d]*?(路|街|道|巷|村)[\d\-]*号?"
)
_BIRTH = re.compile(
    r"\b(born\s+(on|in)\s+[^\n,;]*\d{4})|(\d{2,4}年\d{1,2}月(\d{1,2}日)?\s*出生)|(出生于\s*\d{4}年[^\n，,；;]*)|"
    r"\b\d{1,2}\s*(years old|岁)|\d{1,2}岁",
    re.I,
)
# Labelled fields: `label: value` with the value running to the end of the line (names, addresses) or only to
# the next field on the same line (Chinese résumés put 性别：男  民族：汉 side by side).
_LINE_LABELS = (
    r"name|full name|address|home address|photo|姓名|名字|地址|住址|家庭住址|现居地?|现住址|通讯地址|照片|头像"
)
_FIELD_LABELS = (
    r"gender|sex|marital status|date of birth|dob|birth ?date|birthday|age|nationality|citizenship|religion|"
    r"ethnicity|race|place of birth|political affiliation|health|"
    r"性别|婚姻状况|婚否|出生日期|出生年月|生日|年龄|民族|籍贯|户口|户籍|国籍|宗教信仰|宗教|政治面貌|健康状况|身高|体重|出生地"
)
_LINE_FIELD = re.compile(rf"(?im)(^|(?<=\s))({_LINE_LABELS})\s*[:：]\s*[^\n]*")
_SHORT_FIELD = re.compile(
    rf"(?i)(?<![\w\u4e00-\u9fff])({_FIELD_LABELS})\s*[:：]\s*[^\n|｜，,;；]*?(?=\s{{2,}}|[|｜，,;；]|$)", re.M
)
_EN_NAME_LINE = re.compile(r"^\s*([A-Z][a-zA-Z'-]+(\s+[A-Z][a-zA-Z'.-]*){1,3})\s*$")
_ZH_NAME_LINE = re.compile(r"^\s*[\u4e00-\u9fff]{2,4}\s*$")
# A heading that is a section title, not a name, at the top of a page.
_HEADINGS = frozenset(
    [
        "resume",
        "curriculum",
        "vitae",
        "cv",
        "简历",
        "个人简历",
        "求职简历",
        "个人信息",
        "基本信息",
        "工作经历",
        "教育背景",
        "项目经历",
    ]
)


def redact(text: str, names: Iterable[str] = ()) -> str:
    """The résumé with identifiers and protected traits replaced by `[redacted]`; the rest kept verbatim."""
    out = _IMAGE.sub(REDACTED, text)
    for name in sorted({n.strip() for n in names if len(n.strip()) >= 2}, key=len, reverse=True):
        out = re.sub(re.escape(name), REDACTED, out, flags=re.I)
        for part in name.split():
            if len(part) >= 3:
                out = re.sub(rf"\b{re.escape(part)}\b", REDACTED, out)
    out = _LINE_FIELD.sub(lambda m: f"{m.group(2)}: {REDACTED}", out)
    out = _SHORT_FIELD.sub(lambda m: f"{m.group(1)}: {REDACTED}", out)
    out = _PHONE.sub(_phone, out)
    for pattern in (_EMAIL, _URL, _STREET, _ZH_ADDRESS, _BIRTH, _ZH_TITLED):
        out = pattern.sub(REDACTED, out)
    out = _TITLE.sub("", out)
    lines = out.splitlines()
    for i, line in enumerate(lines[:3]):
        bare = line.strip()
        if bare.lower() in _HEADINGS or not bare:
            continue
        if _EN_NAME_LINE.match(line) or _ZH_NAME_LINE.match(line):
            lines[i] = REDACTED
        break
    return "\n".join(lines)


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    if sum(c.isdigit() for c in found) < 9 or _DATE_LIKE.search(found):
        return found
    return REDACTED


def resume_problem(text: str) -> str | None:
    """Why `text` cannot be used as a résumé (not text, or too long), or None; the message says what to send."""
    if len(text) > MAX_RESUME_CHARS:
        return f"resume_text is {len(text)} characters; the limit is {MAX_RESUME_CHARS}: send the résumé's plain text"
    if text.lstrip().startswith(("%PDF", "PK\x03\x04", "{\\rtf", "data:", "\x89PNG", "\xd0\xcf\x11\xe0")):
        return "resume_text is a file, not text: extract the résumé's plain text and send that"
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text):
        return "resume_text contains control characters: it looks binary; send the résumé's plain text"
    if re.search(r"[A-Za-z0-9+/=]{200,}", text):
        return "resume_text contains encoded data (base64?): send the résumé's plain text"
    visible = [c for c in text if not c.isspace()]
    if visible and sum(c.isalpha() for c in visible) / len(visible) < 0.4:
        return "resume_text is mostly symbols and digits, not prose: send the résumé's plain text"
    return None
