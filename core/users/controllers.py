from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import Parameter

from core.schemas import NO_NUL, Limit, Offset, Page, to_struct
from core.users.tables import User
from core.tenancy.context import TenantContext
from core.users import services
from core.users.schemas import TenantRole, UserCreate, UserRead, UserUpdate


class UserController(Controller):
    path = "/users"
    tags = ["users"]

    @get("/", summary="List users of the province", opt={"permission": "users.read"})
    async def list_users(
        self, ctx: TenantContext,
        role: TenantRole | None = None,
        agency_id: uuid.UUID | None = None,
        active: bool | None = None,
        q: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[UserRead]:
        items, total = await services.search(ctx, role=role, agency_id=agency_id, active=active, q=q,
                                             limit=limit, offset=offset, into=UserRead)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post("/", summary="Create a user", opt={"permission": "users.write"})
    async def create_user(self, ctx: TenantContext, data: UserCreate) -> UserRead:
        return to_struct(await services.create(ctx, data), UserRead)

    @get("/{user_id:uuid}", summary="Read a user", opt={"permission": "users.read"})
    async def get_user(self, ctx: TenantContext, user_id: uuid.UUID) -> UserRead:
        return to_struct(await ctx.scope(User).get(user_id, label="user"), UserRead)

    @patch("/{user_id:uuid}", summary="Change a user's role, agency, name or password, or deactivate",
           opt={"permission": "users.write"})
    async def update_user(self, ctx: TenantContext, user_id: uuid.UUID, data: UserUpdate) -> UserRead:
        return to_struct(await services.update(ctx, user_id, data), UserRead)
