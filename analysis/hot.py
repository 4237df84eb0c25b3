"""Hot topics (热点) and emergency clusters (应急事件线索).

Hot topics: the categories and the recurring words (jieba, on the titles) of the tickets
received in the last 7 local days against the weekly average of the :data:`BASELINE_WEEKS`
weeks before; a topic is rising when it has at least
:data:`MIN_HOT` tickets this week and more than :data:`RISE_FACTOR` times its weekly average
(any count above nothing when it had none).

Emergency clusters: tickets received within the last :data:`LOOKBACK_HOURS` hours, not merged
and not yet part of an incident, are linked when they are alike (the same category, or a shared
keyword of their titles), from one area (the same district in the address text, 香洲区 say, or
map points within :data:`NEAR_KM` km) and received within :data:`WINDOW_HOURS` hours of each
other; a connected group of at least :data:`MIN_CLUSTER` tickets is a possible incident. A
supervisor marks it as one incident (:func:`mark_incident`), which notifies the departments
concerned in their staff inboxes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis import messages
from analysis.access import can_assess
from analysis.models import Incident, IncidentEvent, IncidentTicket
from analysis.periods import Period, utc_bounds
from core import clock
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from delivery.inbox import department_recipient
from delivery.outbox import enqueue_message
from directory.access import Actor
from directory.models import Category, StaffUser
from knowledge.matcher import words
from tickets.models import Ticket

BASELINE_WEEKS = 4
MIN_HOT = 3
RISE_FACTOR = 1.5
TOP = 10

LOOKBACK_HOURS = 24
WINDOW_HOURS = 4
NEAR_KM = 2.0
MIN_CLUSTER = 3
MAX_CLUSTER_TICKETS = 2000  # the most recent tickets the cluster search reads

# Words that recur in any ticket and say nothing about its topic.
STOPWORDS = frozenset(
    {
        "问题", "反映", "市民", "投诉", "咨询", "建议", "求助", "举报", "情况", "已经", "现在",
        "希望", "相关", "部门", "处理", "解决", "一下", "没有", "我们", "你们", "他们", "这个",
        "那个", "什么", "怎么", "为什么", "可以", "需要", "目前", "今天", "昨天", "小时",
        "时候", "一直", "附近", "请问", "谢谢", "出现", "导致", "严重", "影响", "居民",
    }
)  # fmt: skip

_DISTRICT = re.compile(r"([^\s\d省市区县镇路街号]{1,5}[区县])")


# -- hot topics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    key: str  # a category id as text, or the word
    label: str
    current: int  # tickets this week
    baseline: float  # tickets per week on average over the weeks before

    @property
    def rise(self) -> float | None:
        """This week against the weekly average, as a factor (None: nothing before)."""
        return self.current / self.baseline if self.baseline else None


@dataclass(frozen=True)
class HotTopics:
    week: Period
    baseline: Period
    categories: list[Topic]
    words: list[Topic]


def _rising(current: Counter[str], before: Counter[str], labels: dict[str, str]) -> list[Topic]:
    topics = []
    for key, count in current.items():
        baseline = before.get(key, 0) / BASELINE_WEEKS
        if count >= MIN_HOT and count > baseline * RISE_FACTOR:
            topics.append(Topic(key, labels.get(key, key), count, baseline))
    topics.sort(key=lambda t: (-(t.current - t.baseline), -t.current, t.label))
    return topics[:TOP]


def ticket_words(title: str) -> frozenset[str]:
    """The topic words of a ticket's title: jieba words of two or more characters, no
    stopwords, no numbers. (choice: titles only, not descriptions: a title says what the ticket
    is about in a few words, and five weeks of descriptions are too much text to segment for
    one page.)"""
    return frozenset(w for w in words(title) if w not in STOPWORDS and not w.isdigit())


def hot_topics(session: Session, today: dt.date) -> HotTopics:
    week = Period(today - dt.timedelta(days=6), today)
    baseline = Period(
        week.start - dt.timedelta(days=7 * BASELINE_WEEKS), week.start - dt.timedelta(days=1)
    )
    week_from, week_to = utc_bounds(session, week)
    base_from, _ = utc_bounds(session, baseline)
    in_week = Ticket.created_at >= week_from
    by_category = session.execute(
        select(Ticket.category_id, in_week, func.count())
        .where(Ticket.created_at >= base_from, Ticket.created_at < week_to)
        .where(Ticket.category_id.is_not(None))
        .group_by(Ticket.category_id, in_week)
    ).all()
    current: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for category_id, this_week, count in by_category:
        (current if this_week else before)[str(category_id)] += count
    names = {
        str(c.id): c.name
        for c in session.scalars(select(Category).where(Category.id.in_([int(k) for k in current])))
    }
    word_now: Counter[str] = Counter()
    word_before: Counter[str] = Counter()
    rows = session.execute(
        select(Ticket.title, Ticket.created_at).where(
            Ticket.created_at >= base_from, Ticket.created_at < week_to
        )
    )
    for title, created_at in rows:
        target = word_now if created_at >= week_from else word_before
        target.update(ticket_words(title))  # once per ticket
    return HotTopics(
        week, baseline, _rising(current, before, names), _rising(word_now, word_before, {})
    )


# -- emergency clusters -------------------------------------------------------------------------


def district(address: str | None) -> str | None:
    """The district (区/县) named in an address (after any 省 and 市), or None."""
    match = _DISTRICT.search(address or "")
    return match.group(1) if match else None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class _Seen:
    ticket: Ticket
    area: str | None
    point: tuple[float, float] | None
    keywords: frozenset[str]


@dataclass(frozen=True)
class Cluster:
    tickets: list[Ticket]  # oldest first
    area: str | None  # the district most of them name
    keywords: list[str]  # the words most of them share
    categories: list[str]

    @property
    def ticket_ids(self) -> list[int]:
        return [t.id for t in self.tickets]

    @property
    def first(self) -> dt.datetime:
        return self.tickets[0].created_at

    @property
    def last(self) -> dt.datetime:
        return self.tickets[-1].created_at

    def title(self) -> str:
        """A default incident title: the area, then the shared words (else the categories)."""
        topic = "、".join(self.keywords[:2] or self.categories[:2])
        return f"{self.area or ''}{topic}".strip() or self.tickets[0].title


def _alike(a: _Seen, b: _Seen) -> bool:
    same_topic = (
        a.ticket.category_id is not None and a.ticket.category_id == b.ticket.category_id
    ) or bool(a.keywords & b.keywords)
    if not same_topic:
        return False
    near = (a.area is not None and a.area == b.area) or (
        a.point is not None and b.point is not None and distance_km(a.point, b.point) <= NEAR_KM
    )
    if not near:
        return False
    gap = abs(a.ticket.created_at - b.ticket.created_at)
    return gap <= dt.timedelta(hours=WINDOW_HOURS)


def clusters(session: Session, *, now: dt.datetime | None = None) -> list[Cluster]:
    """The possible incidents of the last LOOKBACK_HOURS hours, largest first."""
    now = now or clock.now()
    since = now - dt.timedelta(hours=LOOKBACK_HOURS)
    marked = select(IncidentTicket.ticket_id)
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.created_at >= since, Ticket.created_at <= now)
        .where(Ticket.merged_into_id.is_(None), Ticket.id.not_in(marked))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(MAX_CLUSTER_TICKETS)
    ).all()
    seen = [
        _Seen(
            t,
            district(t.address),
            (t.latitude, t.longitude)
            if t.latitude is not None and t.longitude is not None
            else None,
            ticket_words(t.title),
        )
        for t in reversed(tickets)
    ]
    parent = list(range(len(seen)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(seen)):
        for j in range(i + 1, len(seen)):
            if seen[j].ticket.created_at - seen[i].ticket.created_at > dt.timedelta(
                hours=WINDOW_HOURS
            ):
                break  # oldest first: nothing further is within the window
            if _alike(seen[i], seen[j]):
                parent[root(j)] = root(i)
    groups: dict[int, list[_Seen]] = defaultdict(list)
    for i, item in enumerate(seen):
        groups[root(i)].append(item)
    found = []
    for members in groups.values():
        if len(members) < MIN_CLUSTER:
            continue
        areas = Counter(m.area for m in members if m.area)
        shared = Counter(w for m in members for w in m.keywords)
        categories = Counter(m.ticket.category.name for m in members if m.ticket.category)
        found.append(
            Cluster(
                tickets=[m.ticket for m in members],
                area=areas.most_common(1)[0][0] if areas else None,
                keywords=[w for w, n in shared.most_common(5) if n >= 2],
                categories=[name for name, _ in categories.most_common(3)],
            )
        )
    found.sort(key=lambda c: (-len(c.tickets), -c.last.timestamp()))
    return found


# -- incidents ----------------------------------------------------------------------------------


def can_mark_incident(actor: Actor) -> bool:
    """Supervisors and admins: the same people as the assessment."""
    return can_assess(actor)


def mark_incident(session: Session, ticket_ids: list[int], *, title: str, actor: Actor) -> Incident:
    """Mark tickets as one incident and notify each department concerned (the tickets'
    departments, or their categories' departments before dispatch) in its staff inbox."""
    if not can_mark_incident(actor):
        raise PermissionDenied(N_("You are not allowed to do this."))
    title = title.strip()
    ids = sorted(set(ticket_ids))
    errors: dict[str, str] = {}
    if not title or len(title) > 200:
        errors["title"] = N_("A title of 1 to 200 characters.")
    if len(ids) < 2:
        errors["tickets"] = N_("Choose two or more tickets.")
    if errors:
        raise ValidationError(errors)
    tickets = session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)).all()
    if len(tickets) != len(ids):
        raise NotFound(N_("No such ticket."))
    taken = session.scalar(
        select(func.count()).select_from(IncidentTicket).where(IncidentTicket.ticket_id.in_(ids))
    )
    if taken:
        raise Conflict(N_("Some of these tickets already belong to an incident."))
    now = clock.now()
    areas = Counter(a for a in (district(t.address) for t in tickets) if a)
    incident = Incident(
        title=title,
        area=areas.most_common(1)[0][0] if areas else None,
        created_at=now,
        created_by_id=actor.id if isinstance(actor, StaffUser) else None,
    )
    session.add(incident)
    session.flush()
    session.add_all(IncidentTicket(incident_id=incident.id, ticket_id=t.id) for t in tickets)
    departments = sorted(
        {
            department_id
            for t in tickets
            if (department_id := t.department_id or (t.category and t.category.department_id))
        }
    )
    session.add(
        IncidentEvent(
            incident_id=incident.id,
            action="mark",
            actor_id=incident.created_by_id,
            at=now,
            data={"tickets": [t.id for t in tickets], "departments": departments},
        )
    )
    numbers = "、".join(t.number for t in tickets)
    for department_id in departments:
        enqueue_message(
            session,
            idempotency_key=f"incident:{incident.id}:department:{department_id}",
            audience="department",
            channel="staff",
            recipient=department_recipient(department_id),
            template=messages.DEPARTMENT_INCIDENT,
            params={
                "title": title,
                "area": incident.area,
                "count": len(tickets),
                "numbers": numbers,
            },
        )
    session.flush()
    return incident


def incidents(session: Session, *, limit: int = 20) -> list[tuple[Incident, list[Ticket]]]:
    """The latest incidents with their tickets."""
    rows = session.scalars(
        select(Incident).order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit)
    ).all()
    by_incident: dict[int, list[Ticket]] = defaultdict(list)
    if rows:
        linked = session.execute(
            select(IncidentTicket.incident_id, Ticket)
            .join(Ticket, Ticket.id == IncidentTicket.ticket_id)
            .where(IncidentTicket.incident_id.in_([r.id for r in rows]))
            .order_by(Ticket.created_at)
        ).all()
        for incident_id, ticket in linked:
            by_incident[incident_id].append(ticket)
    return [(row, by_incident[row.id]) for row in rows]
