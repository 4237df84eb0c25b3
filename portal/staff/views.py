"""Staff console: the screens. Each module registers its routes on the blueprint and its
navigation entries; importing them here attaches them."""

from portal.staff import (  # noqa: F401
    admin,
    analysis,
    cohandling_views,
    cti_admin,
    dispatch_admin,
    helpers,
    intake,
    knowledge_admin,
    open311_admin,
    quality_views,
    tickets_views,
)
