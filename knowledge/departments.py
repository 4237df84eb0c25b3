"""Name → department for FAQs: the full name, the code, or a short name such as 人社局 / 人社,
as city staff write them in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterable

from directory.models import Department


class DepartmentResolver:
    """Name → department: the full name, the code, or a short name such as 人社局 / 人社."""

    def __init__(self, departments: Iterable[Department]) -> None:
        self.by_key: dict[str, Department] = {}
        for dept in departments:
            for key in _department_keys(dept):
                self.by_key.setdefault(key, dept)

    def resolve(self, name: str) -> Department | None:
        name = name.strip()
        if not name:
            return None
        return self.by_key.get(name) or self.by_key.get(name.lower()) or self._short(name)

    def _short(self, name: str) -> Department | None:
        stripped = _strip_affixes(name)
        return self.by_key.get(stripped) if stripped else None


def _strip_affixes(name: str) -> str:
    for prefix in ("国家税务总局市", "市"):
        if name.startswith(prefix) and len(name) > len(prefix) + 1:
            name = name[len(prefix) :]
            break
    for suffix in ("管理中心", "中心", "集团", "局", "支队", "联合会"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            name = name[: -len(suffix)]
            break
    return name


# Common short names that are not a prefix of the official one.
_ALIASES = {
    "rensha": ("人社", "人社局", "人力资源和社会保障局"),
    "yibao": ("医保", "医保局"),
    "gongan": ("公安", "户政", "公安局"),
    "jiaojing": ("交警", "交警支队"),
    "churujing": ("出入境",),
    "zhujian": ("住建", "住建局"),
    "shichang": ("市场监管", "市场监管局"),
    "shengtai": ("环保", "环保局", "生态环境局"),
    "chengguan": ("城管", "城管局"),
    "jiaotong": ("交通", "交通局"),
    "minzheng": ("民政",),
    "weijian": ("卫健", "卫健委", "卫生健康局"),
    "water": ("水务",),
    "gas": ("燃气", "燃气公司"),
    "power": ("供电",),
    "tax": ("税务", "税务局"),
    "sifa": ("司法",),
    "canlian": ("残联",),
    "gongjijin": ("公积金", "公积金中心"),
    "budongchan": ("不动产", "不动产登记中心"),
}


def _department_keys(dept: Department) -> list[str]:
    keys = [dept.name, dept.code, dept.code.lower(), _strip_affixes(dept.name)]
    if dept.name_en:
        keys.append(dept.name_en.lower())
    keys.extend(_ALIASES.get(dept.code, ()))
    return [k for k in keys if k]
