"""Résumé redaction (what the model may see) and the check that a submitted résumé is text."""

from __future__ import annotations

import pytest

from dialogue.resume_redact import MAX_RESUME_CHARS, REDACTED, redact, resume_problem

EN = """John Smith
Email: john.smith@example.com | Phone: +1 (415) 555-0134
Address: 12 Baker Street, London
Date of birth: 3 March 1990   Gender: male   Marital status: married
![photo of John, a smiling man in a suit](john.jpg)
<img src="me.png" alt="portrait of a young woman">
Experience 2018-2022: Mr. Smith led the migration of our billing service to Kubernetes, cutting costs by 30%.
LinkedIn: https://www.linkedin.com/in/johnsmith
"""

ZH = """张伟
姓名：张伟
性别：男  民族：汉  籍贯：湖南长沙  政治面貌：党员
电话：13812345678  邮箱：zhangwei@qq.com
住址：广东省深圳市南山区科技园路18号
出生于1990年5月，28岁
2018.03-2022.06 在腾讯负责支付系统微服务改造，QPS提升3倍。张先生带领5人团队完成迁移。
"""


def test_english_identifiers_and_protected_traits_are_removed() -> None:
    out = redact(EN, ["John Smith"])
    for gone in (
        "John",
        "Smith",
        "john.smith@example.com",
        "555-0134",
        "Baker Street",
        "1990",
        "male",
        "married",
        "smiling man",
        "young woman",
        "Mr.",
        "linkedin.com",
    ):
        assert gone not in out, gone
    assert "led the migration of our billing service to Kubernetes, cutting costs by 30%." in out
    assert "2018-2022" in out  # a date range is not a phone number


def test_chinese_identifiers_and_protected_traits_are_removed() -> None:
    out = redact(ZH, ["张伟"])
    for gone in (
        "张伟",
        "男",
        "汉",
        "湖南",
        "党员",
        "13812345678",
        "zhangwei@qq.com",
        "科技园路",
        "1990",
        "28岁",
        "张先生",
    ):
        assert gone not in out, gone
    assert "在腾讯负责支付系统微服务改造，QPS提升3倍。" in out
    assert "带领5人团队完成迁移" in out
    assert "2018.03-2022.06" in out


def test_a_bare_name_heading_the_page_goes_even_when_the_candidate_record_has_another_name() -> None:
    assert redact("Maria Garcia\nSenior accountant at Deloitte.").splitlines()[0] == REDACTED
    assert redact("李娜\n会计师，负责审计。").splitlines()[0] == REDACTED
    assert redact("Résumé\nSenior accountant at Deloitte.").splitlines()[0] == "Résumé"


def test_plain_work_history_is_kept_verbatim() -> None:
    text = "Built a Kafka pipeline processing 2 million events per day; mentored three junior engineers."
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("%PDF-1.7\n%âãÏÓ binary", "a file"),
        ("PK\x03\x04 docx bytes", "a file"),
        ("Experience\x00\x01\x02 at ACME", "control characters"),
        ("Summary: " + "QUJD" * 80, "encoded data"),
        ("1234 5678 9012 3456 7890 !!! ### $$$ 0000 1111", "symbols and digits"),
        ("x" * (MAX_RESUME_CHARS + 1), "limit"),
    ],
)
def test_a_resume_that_is_not_text_or_too_long_is_refused_with_what_to_send(text: str, words: str) -> None:
    problem = resume_problem(text)
    assert problem is not None and words in problem


def test_ordinary_resumes_are_accepted() -> None:
    assert resume_problem(EN) is None
    assert resume_problem(ZH) is None
