"""The 31 provincial-level divisions of mainland China: ISO 3166-2:CN codes and names.

Order is the national statistical order (GB/T 2260 division codes), as in NBS tables.
Hong Kong, Macao and Taiwan are outside the scope of the mainland social-insurance system.
"""

from __future__ import annotations

import difflib

from ..errors import InputError

#: (ISO 3166-2:CN code, Chinese short name, English name), in GB/T 2260 order.
PROVINCES: tuple[tuple[str, str, str], ...] = (
    ("CN-BJ", "北京", "Beijing"),
    ("CN-TJ", "天津", "Tianjin"),
    ("CN-HE", "河北", "Hebei"),
    ("CN-SX", "山西", "Shanxi"),
    ("CN-NM", "内蒙古", "Inner Mongolia"),
    ("CN-LN", "辽宁", "Liaoning"),
    ("CN-JL", "吉林", "Jilin"),
    ("CN-HL", "黑龙江", "Heilongjiang"),
    ("CN-SH", "上海", "Shanghai"),
    ("CN-JS", "江苏", "Jiangsu"),
    ("CN-ZJ", "浙江", "Zhejiang"),
    ("CN-AH", "安徽", "Anhui"),
    ("CN-FJ", "福建", "Fujian"),
    ("CN-JX", "江西", "Jiangxi"),
    ("CN-SD", "山东", "Shandong"),
    ("CN-HA", "河南", "Henan"),
    ("CN-HB", "湖北", "Hubei"),
    ("CN-HN", "湖南", "Hunan"),
    ("CN-GD", "广东", "Guangdong"),
    ("CN-GX", "广西", "Guangxi"),
    ("CN-HI", "海南", "Hainan"),
    ("CN-CQ", "重庆", "Chongqing"),
    ("CN-SC", "四川", "Sichuan"),
    ("CN-GZ", "贵州", "Guizhou"),
    ("CN-YN", "云南", "Yunnan"),
    ("CN-XZ", "西藏", "Tibet"),
    ("CN-SN", "陕西", "Shaanxi"),
    ("CN-GS", "甘肃", "Gansu"),
    ("CN-QH", "青海", "Qinghai"),
    ("CN-NX", "宁夏", "Ningxia"),
    ("CN-XJ", "新疆", "Xinjiang"),
)

CODES: tuple[str, ...] = tuple(code for code, _, _ in PROVINCES)
NAME_ZH: dict[str, str] = {code: zh for code, zh, _ in PROVINCES}
NAME_EN: dict[str, str] = {code: en for code, _, en in PROVINCES}
_CODE_BY_ZH: dict[str, str] = {zh: code for code, zh, _ in PROVINCES}

#: Suffixes of full Chinese names (河北省, 广西壮族自治区, 北京市) stripped by :func:`code_from_chinese`.
_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def code_from_chinese(name: str) -> str:
    """ISO code of a province from its Chinese name, short (河北) or full (河北省).

    Raises
    ------
    InputError
        If the name is not one of the 31 provinces.
    """
    short = name.strip()
    if short in _CODE_BY_ZH:
        return _CODE_BY_ZH[short]
    for suffix in _SUFFIXES:
        if short.endswith(suffix) and short[: -len(suffix)] in _CODE_BY_ZH:
            return _CODE_BY_ZH[short[: -len(suffix)]]
    raise InputError(f"unknown province name {name!r}", expected="one of the 31 mainland provinces")


def validate_codes(codes, *, source=None, key="provinces") -> tuple[str, ...]:
    """Check province codes and return them in national order.

    Raises
    ------
    InputError
        Naming the first unknown code and the nearest valid one.
    """
    codes = list(codes)
    for code in codes:
        if code not in NAME_ZH:
            near = difflib.get_close_matches(str(code), CODES, n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise InputError(
                f"unknown province {code!r}{hint}",
                source=source,
                key=key,
                expected="ISO 3166-2:CN codes such as CN-GD, CN-HE, CN-GZ",
            )
    listed = set(codes)
    if len(listed) != len(codes):
        raise InputError("a province is listed twice", source=source, key=key)
    return tuple(code for code in CODES if code in listed)


def _folded(text: str) -> str:
    """A name as compared: case, spaces, hyphens and underscores do not matter."""
    return "".join(ch for ch in str(text).casefold() if ch not in " -_.")


#: Every way a user may name a province on the command line or in ``ssp.run(provinces=...)``,
#: folded (:func:`_folded`): the ISO code (``cn-gd``), its suffix (``GD``), the English name
#: (``Guangdong``, ``Inner Mongolia``) and the Chinese short name (``广东``).
_ALIASES: dict[str, str] = {_folded(alias): code for code, zh, en in PROVINCES for alias in (code, code[3:], en, zh)}
# Spellings in common use beside the ISO names: Nei Mongol, Xizang (the official romanisations).
_ALIASES.update({_folded("Nei Mongol"): "CN-NM", _folded("Xizang"): "CN-XZ"})


def resolve_province(name: str, *, source=None, key="provinces") -> str:
    """The ISO code of a province named by code, code suffix, English or Chinese name.

    ``"CN-GD"``, ``"cn-gd"``, ``"GD"``, ``"Guangdong"``, ``"广东"`` and ``"广东省"`` all give
    ``"CN-GD"``; case, spaces and hyphens do not matter.

    Raises
    ------
    InputError
        For a name of no province, with the nearest name ("did you mean Guangdong (CN-GD)?").
    """
    text = str(name).strip()
    code = _ALIASES.get(_folded(text))
    if code is not None:
        return code
    try:
        return code_from_chinese(text)
    except InputError:
        pass
    near = difflib.get_close_matches(_folded(text), list(_ALIASES), n=1, cutoff=0.6)
    hint = ""
    if near:
        match = _ALIASES[near[0]]
        hint = f"; did you mean {NAME_EN[match]} ({match})?"
    raise InputError(f"unknown province {text!r}{hint}", source=source, key=key,
                     expected="an ISO code (CN-GD), its suffix (GD), or an English or Chinese name "
                              "(Guangdong, 广东); `socsec-proj provinces` lists them")


def resolve_provinces(names, *, source=None, key="provinces") -> tuple[str, ...]:
    """Province names (see :func:`resolve_province`) as ISO codes in national order.

    Raises
    ------
    InputError
        For an unknown name (with a suggestion) or a province named twice.
    """
    if isinstance(names, str):
        names = [names]
    codes = [resolve_province(name, source=source, key=key) for name in names]
    return validate_codes(codes, source=source, key=key)
