"""Reference and demo data: the departments a city hotline dispatches to, request categories,
demo staff accounts and a few demo tickets in every stage. Every step is safe to run twice."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.db import StateEntry
from directory.citizens import get_or_create_citizen
from directory.models import Category, Department, Role, StaffUser
from directory.staff import create_staff_user
from tickets import workflow
from tickets.access import SYSTEM, CitizenActor
from tickets.calendar import load_calendar, local_today
from tickets.models import Ticket
from tickets.supervision import refresh_supervision

# code, name, English name, district?, specialist seat (专席)?, former department hotline
DEPARTMENTS: list[tuple[str, str, str, bool, bool, str | None]] = [
    (
        "rensha",
        "市人力资源和社会保障局",
        "Human Resources and Social Security Bureau",
        False,
        True,
        "12333",
    ),
    ("yibao", "市医疗保障局", "Healthcare Security Administration", False, False, "12393"),
    ("gongjijin", "市住房公积金管理中心", "Housing Provident Fund Centre", False, False, "12329"),
    (
        "gongan",
        "市公安局（户政）",
        "Public Security Bureau (Household Registration)",
        False,
        False,
        "110",
    ),
    ("jiaojing", "市公安局交通警察支队", "Traffic Police", False, False, "122"),
    ("churujing", "市公安局出入境管理支队", "Exit and Entry Administration", False, False, "12367"),
    (
        "zhujian",
        "市住房和城乡建设局",
        "Housing and Urban-Rural Development Bureau",
        False,
        False,
        None,
    ),
    ("budongchan", "市不动产登记中心", "Real Estate Registration Centre", False, False, None),
    ("shichang", "市市场监督管理局", "Market Regulation Administration", False, False, "12315"),
    ("shengtai", "市生态环境局", "Ecology and Environment Bureau", False, False, "12369"),
    (
        "chengguan",
        "市城市管理和综合执法局",
        "Urban Management and Law Enforcement Bureau",
        False,
        False,
        "12319",
    ),
    ("jiaotong", "市交通运输局", "Transport Bureau", False, False, "12328"),
    ("jiaoyu", "市教育局", "Education Bureau", False, False, None),
    ("minzheng", "市民政局", "Civil Affairs Bureau", False, False, None),
    ("weijian", "市卫生健康局", "Health Commission", False, False, "12320"),
    ("water", "市水务局", "Water Affairs Bureau", False, False, None),
    ("gas", "市燃气集团", "City Gas Group", False, False, None),
    ("power", "市供电局", "Power Supply Bureau", False, False, "95598"),
    ("tax", "国家税务总局市税务局", "Tax Service", False, False, "12366"),
    ("sifa", "市司法局", "Justice Bureau", False, False, "12348"),
    ("canlian", "市残疾人联合会", "Disabled Persons' Federation", False, False, None),
    ("ziran", "市自然资源局", "Natural Resources Bureau", False, False, None),
    ("yingji", "市应急管理局", "Emergency Management Bureau", False, False, "12350"),
    (
        "wenlv",
        "市文化广电旅游体育局",
        "Culture, Radio, Tourism and Sports Bureau",
        False,
        False,
        "12318",
    ),
    ("nongye", "市农业农村局", "Agriculture and Rural Affairs Bureau", False, False, "12316"),
    ("tuiyi", "市退役军人事务局", "Veterans Affairs Bureau", False, False, None),
    ("shangwu", "市商务局", "Commerce Bureau", False, False, None),
    ("xiangzhou", "香洲区人民政府", "Xiangzhou District Government", True, False, None),
    ("doumen", "斗门区人民政府", "Doumen District Government", True, False, None),
    ("jinwan", "金湾区人民政府", "Jinwan District Government", True, False, None),
]

# code, name, English name, department code
CATEGORIES: list[tuple[str, str, str, str | None]] = [
    ("social_security", "社会保险", "Social insurance", "rensha"),
    ("employment", "就业创业与劳动关系", "Employment and labour relations", "rensha"),
    ("medical_insurance", "医疗保险", "Medical insurance", "yibao"),
    ("housing_fund", "住房公积金", "Housing provident fund", "gongjijin"),
    ("household", "户籍与身份证", "Household registration and ID cards", "gongan"),
    ("traffic", "交通违法与驾驶证", "Traffic offences and driving licences", "jiaojing"),
    ("exit_entry", "出入境证件", "Passports and travel permits", "churujing"),
    ("housing", "房屋与物业", "Housing and property management", "zhujian"),
    ("real_estate", "不动产登记", "Real estate registration", "budongchan"),
    ("consumer", "消费维权与食品安全", "Consumer rights and food safety", "shichang"),
    ("environment", "环境污染与噪音", "Pollution and noise", "shengtai"),
    (
        "city_management",
        "市容环卫与违法建设",
        "Street order, sanitation and illegal building",
        "chengguan",
    ),
    ("transport", "公交出租与道路运输", "Buses, taxis and road transport", "jiaotong"),
    ("education", "教育与入学", "Education and school places", "jiaoyu"),
    (
        "civil_affairs",
        "婚姻养老与社会救助",
        "Marriage, elderly care and social assistance",
        "minzheng",
    ),
    ("health", "医疗卫生", "Health care", "weijian"),
    ("water", "供水排水", "Water supply and drainage", "water"),
    ("gas", "燃气", "Gas supply", "gas"),
    ("power", "供电", "Electricity supply", "power"),
    ("tax", "税务与发票", "Tax and invoices", "tax"),
    ("legal_aid", "法律援助与公证", "Legal aid and notary", "sifa"),
    ("disability", "残疾人服务", "Services for disabled people", "canlian"),
    ("safety", "安全生产与应急", "Work safety and emergencies", "yingji"),
    ("culture_tourism", "文化旅游与体育", "Culture, tourism and sport", "wenlv"),
    ("other", "其他", "Other", None),
]

DEMO_PASSWORD = "hotline-demo"
# username, display name, role, department code
DEMO_STAFF: list[tuple[str, str, str, str | None]] = [
    ("admin", "系统管理员", Role.ADMIN, None),
    ("operator", "话务员 王芳", Role.OPERATOR, None),
    ("reviewer", "复核员 李强", Role.REVIEWER, None),
    ("supervisor", "督办员 张敏", Role.SUPERVISOR, None),
    ("rensha", "人社局 陈静", Role.DEPARTMENT, "rensha"),
    ("zhujian", "住建局 刘洋", Role.DEPARTMENT, "zhujian"),
    ("chengguan", "城管局 赵磊", Role.DEPARTMENT, "chengguan"),
    ("shichang", "市场监管局 孙丽", Role.DEPARTMENT, "shichang"),
    ("jiaojing", "交警支队 周杰", Role.DEPARTMENT, "jiaojing"),
    ("shengtai", "生态环境局 吴婷", Role.DEPARTMENT, "shengtai"),
]


def seed_reference_data(session: Session) -> list[str]:
    """Departments and categories; existing rows are left as staff edited them."""
    now = clock.now()
    existing = set(session.scalars(select(Department.code)))
    added = 0
    for code, name, name_en, district, specialist, phone in DEPARTMENTS:
        if code in existing:
            continue
        session.add(
            Department(
                code=code,
                name=name,
                name_en=name_en,
                is_district=district,
                is_specialist=specialist,
                hotline_phone=phone,
                active=True,
                created_at=now,
            )
        )
        added += 1
    session.flush()
    by_code = {d.code: d for d in session.scalars(select(Department))}
    existing_categories = set(session.scalars(select(Category.code)))
    for code, name, name_en, dept in CATEGORIES:
        if code not in existing_categories:
            session.add(
                Category(
                    code=code,
                    name=name,
                    name_en=name_en,
                    department_id=by_code[dept].id if dept else None,
                    active=True,
                )
            )
    session.flush()
    return [f"departments: {len(by_code)} ({added} new)"]


def seed_demo_staff(session: Session) -> list[str]:
    by_code = {d.code: d for d in session.scalars(select(Department))}
    existing = set(session.scalars(select(StaffUser.username)))
    lines = []
    for username, display, role, dept in DEMO_STAFF:
        if username not in existing:
            create_staff_user(
                session,
                username=username,
                display_name=display,
                password=DEMO_PASSWORD,
                role=role,
                department=by_code[dept] if dept else None,
                actor=SYSTEM,
            )
        lines.append(f"  {username:<12} {display}")
    return [f"demo staff logins (password: {DEMO_PASSWORD}):", *lines]


def _workdays_before(session: Session, day: dt.date, n: int) -> dt.date:
    """The n-th working day before the latest working day on or before ``day``.

    Counting from the latest working day (not from ``day``) is what makes the demo the same on
    any day: on a Sunday, a holiday or a 调休 Saturday the ladder (正常/预警/黄牌/红牌) measures
    lateness from the last working day, so a ticket placed n working days back lands on the
    same rung as it does on a Tuesday.
    """
    calendar = load_calendar(session)
    current = calendar.previous_workday(day, inclusive=True)
    for _ in range(n):
        current = calendar.previous_workday(current)
    return current


def _at(day: dt.date, hour: int, timezone: str, *, minutes_ago: int) -> dt.datetime:
    """``hour`` o'clock on ``day``, but never in the future: a demo run at 07:00 puts today's
    tickets ``minutes_ago`` before now instead (the steps keep their order)."""
    moment = dt.datetime.combine(day, dt.time(hour, 0), tzinfo=ZoneInfo(timezone))
    return min(moment.astimezone(dt.UTC), clock.now() - dt.timedelta(minutes=minutes_ago))


# kind, category, title, description, address, channel, how far it has got, workdays ago
DEMO_TICKETS: list[tuple[str, str, str, str, str, str, str, int]] = [
    (
        "complaint",
        "environment",
        "夜间施工噪音扰民",
        "香洲区凤凰北路某工地连续一周在晚上十一点以后施工，噪音很大，老人和孩子都无法休息，希望相关部门尽快处理。",
        "香洲区凤凰北路88号附近",
        "web",
        "submitted",
        0,
    ),
    (
        "consultation",
        "social_security",
        "灵活就业人员如何参加养老保险",
        "我是自由职业者，想问一下灵活就业人员怎么缴纳养老保险，需要带什么材料，可以网上办理吗？",
        "",
        "wechat",
        "submitted",
        0,
    ),
    (
        "complaint",
        "city_management",
        "小区门口占道经营",
        "吉大路小区门口每天傍晚都有流动摊贩占道经营，车辆和行人通行困难，垃圾也很多。",
        "香洲区吉大路120号",
        "web",
        "dept_review",
        1,
    ),
    (
        "complaint",
        "consumer",
        "健身房关门无法退卡",
        "我在某健身房办了年卡，现在健身房突然关门，联系不上负责人，要求退还剩余费用。",
        "香洲区拱北迎宾南路",
        "telegram",
        "dept_review_late",
        4,
    ),
    (
        "suggestion",
        "transport",
        "建议增加夜间公交班次",
        "建议在城轨珠海站到金湾方向增加夜间公交班次，很多下夜班的市民打车很贵。",
        "",
        "web",
        "handling",
        3,
    ),
    (
        "consultation",
        "social_security",
        "失业保险金申领条件",
        "公司裁员，我已经缴纳失业保险三年，请问怎么申领失业保险金，能领多久？",
        "",
        "wechat",
        "handling_red",
        9,
    ),
    (
        "complaint",
        "housing",
        "物业乱收停车费",
        "小区物业今年起将停车管理费从每月150元涨到300元，没有召开业主大会，也没有公示。",
        "斗门区白蕉镇某小区",
        "web",
        "handling_warning",
        15,
    ),
    (
        "report",
        "consumer",
        "无证经营的小作坊",
        "某小区地下室有人无证生产糕点，卫生条件很差，往周边小店供货。",
        "金湾区三灶镇",
        "web",
        "re_review",
        6,
    ),
    (
        "praise",
        "traffic",
        "表扬交警热心帮助",
        "上周五暴雨，我的车在路口熄火，一位交警冒雨帮我推车并指挥交通，特此表扬。",
        "香洲区情侣中路",
        "wechat",
        "callback",
        4,  # reviewed 2 working days back: reminded, and not yet closed, on any day
    ),
    (
        "complaint",
        "environment",
        "河道有异味",
        "前山河某段近期有明显异味，水面漂浮垃圾，怀疑有企业偷排。",
        "香洲区前山河",
        "web",
        "closed",
        12,
    ),
    (
        "complaint",
        "city_management",
        "人行道被共享单车堵塞",
        "地铁口附近人行道长期被共享单车堆满，轮椅和婴儿车无法通过。",
        "香洲区拱北口岸广场",
        "web",
        "returned",
        8,
    ),
]


def seed_demo_tickets(session: Session, timezone: str) -> list[str]:
    marker = session.get(StateEntry, "seed.demo_tickets")
    if marker is not None:
        return ["demo tickets: already there"]
    staff = {u.username: u for u in session.scalars(select(StaffUser))}
    departments = {d.code: d for d in session.scalars(select(Department))}
    categories = {c.code: c for c in session.scalars(select(Category))}
    today = local_today(session)
    operator, reviewer = staff["operator"], staff["reviewer"]
    for index, (kind, category, title, text, address, channel, goal, ago) in enumerate(
        DEMO_TICKETS
    ):
        start = _workdays_before(session, today, ago)
        dept = categories[category].department
        assert dept is not None
        clerk = next((u for u in staff.values() if u.department_id == dept.id), None)
        if clerk is None:  # a department without a demo login: give the ticket to one that has
            dept = departments["chengguan"]
            clerk = staff["chengguan"]
        with clock.frozen(_at(start, 9, timezone, minutes_ago=40)):
            citizen = get_or_create_citizen(
                session, channel, f"demo-{channel}-{index}", phone=f"1380013{index:04d}"
            )
            draft = workflow.TicketDraft(
                kind=kind,
                title=title,
                description=text,
                address=address or None,
                contact_name="演示市民",
                phone=f"1380013{index:04d}",
                category_code=category,
                anonymous=kind == "report",
            )
            ticket = workflow.submit_ticket(
                session,
                draft,
                actor=CitizenActor(citizen.id, channel),
                channel=channel,
                citizen=citizen,
            )
            if goal == "submitted":
                continue
            workflow.dispatch_ticket(session, ticket, dept, actor=operator)
            if goal.startswith("dept_review"):
                continue
        with clock.frozen(_at(start, 15, timezone, minutes_ago=30)):
            workflow.accept_ticket(session, ticket, actor=clerk)
        if goal.startswith("handling"):
            continue
        with clock.frozen(_at(start, 16, timezone, minutes_ago=20)):
            workflow.reply_ticket(
                session,
                ticket,
                actor=clerk,
                reply="已安排执法人员现场核查，情况属实，已责令整改并将持续跟踪。",
            )
        reply_day = _workdays_before(session, today, max(ago - 2, 0)) if ago > 2 else today
        with clock.frozen(_at(reply_day, 10, timezone, minutes_ago=10)):
            if goal == "re_review":
                continue
            if goal == "returned":
                workflow.return_to_department(
                    session,
                    ticket,
                    actor=reviewer,
                    total_days=5,
                    reason="答复未说明具体清理时间，请补充。",
                )
                continue
            workflow.pass_review(session, ticket, actor=reviewer)
            if goal == "callback":
                continue
            workflow.record_callback(
                session,
                ticket,
                actor=operator,
                satisfaction="satisfied",
                comment="处理及时，谢谢。",
            )
    session.add(StateEntry(key="seed.demo_tickets", value="done", updated_at=clock.now()))
    session.flush()
    refresh_supervision(session, full=True)
    count = session.query(Ticket).count()
    return [f"demo tickets: {count}"]
