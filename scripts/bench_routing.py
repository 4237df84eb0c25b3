"""Latency of the routing suggestion with a model trained on a large synthetic history.

    .venv/bin/python scripts/bench_routing.py [--tickets 1000000] [--probes 2000]

The history is synthetic (no city's million tickets are at hand): 24 departments, each with its
own phrases, written into sentences with shared filler, place names and a share of another
department's words, so that the vocabulary is large and the classes overlap. What is timed is
what an operator waits for: ``tickets.routing.rank`` on a new ticket's text (vectorising, the
classifier, the similar past tickets of the three suggested departments), wall time per call,
one thread, on the in-memory model. Also printed: training time, the stored model's size and the
time to load it (once per process and model version).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tickets.routing import Example, RoutingModel, rank  # noqa: E402

TOPICS = {
    "chengguan": "垃圾 清运 占道 摆摊 违建 搭建 流动摊贩 乱倒 渣土 店外经营 广告牌 绿化带",
    "zhujian": "物业 维修基金 电梯 漏水 楼盘 交房 开发商 烂尾 施工许可 房屋质量 业委会 墙体开裂",
    "shengtai": "排污 废气 黑烟 污水 异味 化工厂 河道 油污 噪声 辐射 环评 粉尘",
    "jiaojing": "违停 红绿灯 闯红灯 驾驶证 车牌 拥堵 交通事故 电动车 罚单 扣分 摄像头 斑马线",
    "shichang": "过期食品 退款 假货 价格欺诈 预付卡 商家 缺斤短两 翻新机 餐馆卫生 标价 网购 三无产品",
    "rensha": "社保 养老金 失业金 工伤 劳动合同 拖欠工资 人才引进 职称 退休 参保 社保卡 仲裁",
    "yibao": "医保 报销 门诊 异地就医 医保卡 住院 药品目录 个人账户 慢性病 生育保险 医保缴费 定点医院",
    "gongjijin": "公积金 提取 贷款 缴存 租房提取 还贷 账户转移 公积金中心 冲还贷 缴存基数 销户 补缴",
    "gongan": "户口 身份证 落户 迁移 居住证 户籍 派出所 出生登记 改名 集体户 临时身份证 户口本",
    "churujing": "护照 港澳通行证 签注 出入境 台湾通行证 加急 外国人 签证 出境 口岸 证件照 续签",
    "budongchan": "不动产 房产证 产权 过户 抵押登记 查封 继承 房本 登记中心 首次登记 预告登记 权属",
    "jiaotong": "公交 出租车 网约车 线路 站台 末班车 拒载 绕路 客运站 班次 公交卡 营运",
    "jiaoyu": "入学 学位 学区 幼儿园 转学 学校 补课 校车 招生 中考 教师 学费",
    "weijian": "医院 医生 挂号 医疗纠纷 疫苗 诊所 卫生院 护士 体检 急诊 病历 收费",
    "water": "停水 水压 自来水 水质 水管爆裂 排水 内涝 水表 供水 井盖 下水道 污水管",
    "gas": "燃气 煤气 天然气 漏气 燃气表 点火 燃气费 开户 燃气管道 安检 液化气 灶具",
    "power": "停电 电费 电表 跳闸 电线 供电 变压器 充电桩 电压 抄表 线路老化 用电",
    "tax": "发票 个税 退税 税务 纳税 开票 增值税 社保费 税款 减免 申报 电子税务局",
    "minzheng": "低保 养老院 婚姻登记 殡葬 救助 残疾补贴 老年人 社区 高龄津贴 孤儿 流浪人员 慈善",
    "sifa": "法律援助 公证 律师 调解 社区矫正 司法鉴定 法律咨询 人民调解 公证处 律所 仲裁 普法",
    "yingji": "安全生产 消防隐患 危化品 应急 事故 防汛 台风 避难场所 隐患 安全检查 爆炸 救援",
    "wenlv": "景区 旅游 门票 导游 文化 体育馆 图书馆 演出 旅行社 酒店 博物馆 健身",
    "nongye": "农业 农药 种子 化肥 农村 土地流转 养殖 动物防疫 农机 渔业 补贴 菜价",
    "ziran": "土地 规划 宅基地 测绘 山林 采砂 填海 用地 征地 地质灾害 国土 矿产",
}
FILLERS = "小区 门口 附近 楼下 最近 一直 好几天 严重 影响 居民 生活 请 尽快 处理 反映 问题 投诉 咨询 希望 相关部门"
PLACES = "香洲区 斗门区 金湾区 吉大 拱北 前山 唐家湾 井岸 三灶 红旗 南屏 湾仔 翠微 新香洲 梅华"
VERBS = "出现 发现 存在 导致 没有 不能 需要 要求 怎么 如何 为什么 多久 哪里 能否"


def synthetic(n: int, seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    codes = sorted(TOPICS)
    words = {c: TOPICS[c].split() for c in codes}
    fillers, places, verbs = FILLERS.split(), PLACES.split(), VERBS.split()
    examples = []
    for i in range(n):
        code = codes[i % len(codes)] if i < len(codes) else rng.choice(codes)
        parts = [rng.choice(places), rng.choice(fillers)]
        parts += rng.sample(words[code], rng.randint(1, 3))
        if rng.random() < 0.25:  # another department's word: classes overlap
            parts.append(rng.choice(words[rng.choice(codes)]))
        parts += [rng.choice(verbs), *rng.sample(fillers, 3), str(rng.randint(1, 300)) + "号"]
        rng.shuffle(parts)
        examples.append(Example(f"H{i:07d}", "".join(parts), code))
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--probes", type=int, default=2000)
    args = parser.parse_args()
    history = synthetic(args.tickets)
    started = time.perf_counter()
    model = RoutingModel.train(history)
    trained = time.perf_counter() - started
    assert model is not None
    started = time.perf_counter()
    payload = model.to_bytes()
    dumped = time.perf_counter() - started
    started = time.perf_counter()
    model = RoutingModel.from_bytes(payload)
    loaded = time.perf_counter() - started
    probes = synthetic(args.probes, seed=1)
    for probe in probes[:50]:  # warm-up
        rank(model, probe.text)
    times = []
    correct = 0
    for probe in probes:
        start = time.perf_counter()
        ranked = rank(model, probe.text)
        times.append((time.perf_counter() - start) * 1000)
        correct += ranked[0].code == probe.department
    ms = np.array(times)
    print(f"history: {args.tickets:,} synthetic tickets, {len(model.codes)} departments")
    print(f"training: {trained:.0f} s; model {len(payload) / 1e6:.1f} MB (compressed)")
    print(f"dump {dumped:.1f} s, load {loaded:.1f} s (once per process and model version)")
    print(
        f"suggestion latency over {len(times)} probes: p50 {np.percentile(ms, 50):.2f} ms, "
        f"p95 {np.percentile(ms, 95):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms"
    )
    print(f"top-1 on the synthetic probes: {correct / len(times):.1%} (a sanity check only)")


if __name__ == "__main__":
    main()
