"""Who is who: the departments a ticket is dispatched to and the categories that route to them,
staff accounts and their roles, citizens and the channel identities that map to them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from core.i18n import N_


class Role(StrEnum):
    OPERATOR = "operator"
    REVIEWER = "reviewer"
    DEPARTMENT = "department"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.OPERATOR: N_("Operator"),
    Role.REVIEWER: N_("Reviewer"),
    Role.DEPARTMENT: N_("Department staff"),
    Role.SUPERVISOR: N_("Supervisor"),
    Role.ADMIN: N_("Administrator"),
}


class Channel(StrEnum):
    WEB = "web"
    WECHAT = "wechat"
    TELEGRAM = "telegram"
    PHONE = "phone"
    OPEN311 = "open311"  # other city systems and apps, through Open311 GeoReport v2


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    is_district: Mapped[bool] = mapped_column(Boolean, default=False)
    is_specialist: Mapped[bool] = mapped_column(Boolean, default=False)  # 专席, e.g. 人社
    hotline_phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]


class Category(Base):
    """What a request is about; each suggests the department that usually handles it."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department | None] = relationship()


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('operator','reviewer','department','supervisor','admin')", name="role"
        ),
        CheckConstraint("role <> 'department' OR department_id IS NOT NULL", name="dept_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    locale: Mapped[str | None] = mapped_column(String(10))
    # The switchboard's agent code (工号) of this console user: a call the agent answers pops
    # up in this user's console (calls.service). Unique when set.
    agent_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[dt.datetime]

    department: Mapped[Department | None] = relationship()

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[dt.datetime]

    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="citizen")


class ChannelIdentity(Base):
    """A citizen as one channel knows them: web session or phone, WeChat openid, Telegram chat."""

    __tablename__ = "channel_identities"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_identity_channel_external"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime | None]
    # The channel said the citizen cannot be reached there any more (a WeChat unsubscribe);
    # cleared when they write again.
    unreachable_at: Mapped[dt.datetime | None]

    citizen: Mapped[Citizen] = relationship(back_populates="identities")
