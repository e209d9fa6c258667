"""Name pools for generated streets and people, and Chinese numerals."""

from __future__ import annotations

import numpy as np

URBAN_STREETS = (
    "建设路", "人民路", "中山街", "解放路", "文化路", "新华街", "渠江大道", "宕渠大道", "滨江路",
    "南大街", "北大街", "东环路", "西环路", "和平路", "胜利街", "民主街", "五一路", "书院街",
    "学府路", "兴隆街", "长青路", "文峰路", "天星街", "南坝路", "北门街", "城南路", "城北路",
    "河东路", "濛山路", "金山路", "鞍山路", "迎宾大道", "汉阙路", "賨人大道", "华蓥路",
    "大北街", "小北街", "红旗路", "中心街", "望江路",
)
TOWN_STREETS = (
    "正街", "新街", "老街", "河街", "上街", "下街", "中街", "新华街", "建设路", "人民路",
    "滨河路", "场镇路", "兴隆街", "太平街", "顺河街", "环镇路", "车站路", "学校路",
)
SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
    "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
    "彭", "曾", "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏",
    "吕", "丁", "任", "沈", "姚", "卢", "姜", "钟", "谭", "廖", "向", "熊", "秦", "雷", "龙",
    "贺", "文", "蒲", "冉", "苟", "伍", "岳", "付", "汪", "毛",
)
# Zipf-like: the first surnames (王, 李, 张, …) are much more common.
SURNAME_WEIGHTS = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.8
GIVEN_CHARS = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "志", "红", "文", "辉",
    "力", "林", "斌", "波", "宇", "浩", "鹏", "俊", "凯", "婷", "雪", "琳", "晨", "欣", "峰",
    "川", "渝", "蓉", "江", "春", "海", "云", "兵", "东", "亮", "成", "武", "玲", "梅", "燕",
)
DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 35 → 三十五 (1 ≤ n ≤ 99)."""
    if not 1 <= n <= 99:
        raise ValueError(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else DIGITS[tens] + "十")
    return head + ("" if ones == 0 else DIGITS[ones])


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """n plausible Chinese names (one surname, one or two given characters)."""
    sur = rng.choice(len(SURNAMES), n, p=SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum())
    g1 = rng.integers(0, len(GIVEN_CHARS), n)
    g2 = rng.integers(0, len(GIVEN_CHARS), n)
    two = rng.random(n) < 0.7
    return [
        SURNAMES[s] + GIVEN_CHARS[a] + (GIVEN_CHARS[b] if t and b != a else "")
        for s, a, b, t in zip(sur.tolist(), g1.tolist(), g2.tolist(), two.tolist(), strict=True)
    ]
