"""Chinese text normalisation for matching: one canonical form for what citizens type.

Full-width → half-width and compatibility forms (NFKC), traditional → simplified (OpenCC's
tables, via opencc-python-reimplemented: pure Python, no compiler), lower case, no punctuation,
symbols or spaces, and without the polite filler that carries no meaning for the match (请问,
我想问一下, 谢谢, a trailing 呢/吗 …). Synonyms are applied later, by the index, because staff
edit them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

# Longest first so that 我想问一下 is removed whole, not as 我想 + 问一下. Only phrases that never
# carry the subject of a question belong here.
FILLERS = sorted(
    {
        "请问一下",
        "请问",
        "我想问一下",
        "我想问问",
        "想问一下",
        "问一下",
        "我想咨询一下",
        "我想咨询",
        "咨询一下",
        "我想了解一下",
        "想了解一下",
        "我想了解",
        "麻烦问一下",
        "麻烦您",
        "麻烦你",
        "你好",
        "您好",
        "喂",
        "谢谢你",
        "谢谢您",
        "谢谢了",
        "谢谢",
        "多谢",
        "在吗",
        "有人吗",
        "急急急",
        "该怎么办",
        "怎么办",
        "咋办",
        "应该怎么弄",
        "怎么弄",
        "求助",
        "请帮忙",
        "帮帮忙",
    },
    key=len,
    reverse=True,
)
# 怎么办 must not eat the 怎么办 of 怎么办理.
_FILLER_RE = re.compile(
    "|".join(re.escape(f) + ("(?!理)" if f.endswith("办") else "") for f in FILLERS)
)
_TRAILING_PARTICLES = re.compile("[呢吗嘛啊呀吧哦哈啦]+$")
_ASCII_OR_COMMON = re.compile(r"[\x00-\x7f]*")


@cache
def _converter() -> Any:
    from opencc import OpenCC  # a few ms to load its tables: only when first needed

    return OpenCC("t2s")


def _keep(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LN"  # letters (including CJK) and digits; no punctuation, symbol, space


@cache
def _simplified_char(char: str) -> str:
    return str(_converter().convert(char))


def to_simplified(text: str) -> str:
    """Traditional → simplified. Phrase tables first (a phrase may convert differently from its
    characters); most input is already simplified, so the per-character check is cached."""
    if _ASCII_OR_COMMON.fullmatch(text):
        return text
    if all(_simplified_char(c) == c for c in text):
        return text
    return str(_converter().convert(text))


def strip_fillers(text: str) -> str:
    stripped = _FILLER_RE.sub("", text)
    stripped = _TRAILING_PARTICLES.sub("", stripped)
    # A question made only of filler ("你好", "谢谢") keeps its text: it is still what was asked.
    return stripped or text


def normalize(text: str, *, fillers: bool = True) -> str:
    """The canonical form the index stores and the matcher compares."""
    text = unicodedata.normalize("NFKC", text or "")
    text = to_simplified(text).lower()
    text = "".join(c for c in text if _keep(c))
    return strip_fillers(text) if fillers else text


def split_list(raw: str, separators: str = "|") -> list[str]:
    """Split a CSV cell into clean, distinct items, keeping their order."""
    pattern = "[" + re.escape(separators) + "]"
    seen: dict[str, None] = {}
    for item in re.split(pattern, raw or ""):
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)
