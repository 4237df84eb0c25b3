from __future__ import annotations

import pytest

from knowledge.normalize import normalize, split_list


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("请问，驾驶证 到期了怎么换证？谢谢！", "驾驶证到期了怎么换证"),
        ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits
        ("我想问一下：身份證丟了怎麼辦？", "身份证丢了"),  # traditional → simplified, filler
        ("社保怎么办理", "社保怎么办理"),  # 怎么办 of 怎么办理 is not filler
        ("公积金能取吗？", "公积金能取"),  # trailing particle
        ("  你好  ", "你好"),  # only filler: keep what was asked
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_fillers_can_be_kept() -> None:
    assert normalize("请问护照", fillers=False) == "请问护照"


def test_split_list_keeps_order_and_drops_blanks_and_repeats() -> None:
    assert split_list("驾照| 驾驶证 ||驾照，换证,到期", "|,，") == [
        "驾照",
        "驾驶证",
        "换证",
        "到期",
    ]
