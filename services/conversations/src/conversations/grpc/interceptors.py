"""gRPC interceptors for the ConversationsService methods (health and reflection pass
through untouched): request id, error mapping, authentication. Outermost first:

    RequestIdInterceptor -> ErrorInterceptor -> AuthInterceptor -> servicer

Each wraps the method's unary behaviour so that contextvars it sets are seen by the
servicer (same task) and errors raised anywhere inside become one gRPC status.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import grpc
from chat_common.errors import DomainError, PermissionDenied, Unauthenticated
from chat_common.logs import REQUEST_ID_HEADER, clean_request_id, request_id_var, user_id_var
from chat_common.tokens import CachingVerifier, ServiceToken, bearer_token

from conversations.metrics import observe_call

log = logging.getLogger(__name__)

SERVICE_PREFIX = "/chat.conversations.v1.ConversationsService/"
# The user an internal service acts for (metadata beside its own service token).
ACTING_USER_HEADER: Final = "x-acting-user"
# What a service token must grant to write replies and to act for users.
AGENT_SCOPE: Final = "conversations:agent"
# What auth's service token must grant to delete an account's data (DeleteAccountData).
PURGE_ACCOUNTS_SCOPE: Final = "conversations:purge-accounts"
# A call slower than this is logged at INFO even when it succeeded.
SLOW_RPC_SECONDS: Final = 0.25

if TYPE_CHECKING:  # grpc's runtime classes are not generic; its stubs are
    Context = grpc.aio.ServicerContext[Any, Any]
    Behaviour = Callable[[Any, Context], Awaitable[Any]]
    Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]]
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a call is for (`user_id`, every call is scoped to it) and by whom: the user
    with their own token, or the agent's service identity acting for that user."""

    user_id: UUID
    is_agent: bool


_caller: ContextVar[Caller | None] = ContextVar("grpc_caller", default=None)
# A service calling for itself (its token without x-acting-user): no user to scope to.
_service: ContextVar[ServiceToken | None] = ContextVar("grpc_service", default=None)


def current_caller() -> Caller:
    """The verified caller of the RPC being served (set by AuthInterceptor)."""
    caller = _caller.get()
    if caller is None:
        raise Unauthenticated("missing bearer token")
    return caller


def current_user() -> UUID:
    return current_caller().user_id


def require_agent() -> UUID:
    """The user an agent-only RPC acts for; PERMISSION_DENIED for a user's own token."""
    caller = current_caller()
    if not caller.is_agent:
        raise PermissionDenied("this call is for the agent's service identity only")
    return caller.user_id


def require_service_scope(scope: str) -> ServiceToken:
    """The service calling a service-only RPC (its own token, no x-acting-user) with
    `scope`; PERMISSION_DENIED for a user's token, an agent acting for a user, or a
    service token without that scope."""
    service = _service.get()
    if service is None or scope not in service.scopes:
        raise PermissionDenied("this call needs a service identity with another scope")
    return service


def _metadata_value(details: grpc.HandlerCallDetails, key: str) -> str | None:
    metadata: Sequence[tuple[str, str | bytes]] = details.invocation_metadata or ()
    for name, value in metadata:
        if name == key:
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


class _UnaryInterceptor(_Interceptor):
    """Wraps the unary-unary behaviour of the ConversationsService methods."""

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        if not details.method.startswith(SERVICE_PREFIX):
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self.wrap(handler.unary_unary, details),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def wrap(self, behaviour: Any, details: grpc.HandlerCallDetails) -> Behaviour:
        raise NotImplementedError


class RequestIdInterceptor(_UnaryInterceptor):
    """Carries `x-request-id` (as REST does with X-Request-ID) into every log line."""

    def wrap(self, behaviour: Any, details: grpc.HandlerCallDetails) -> Behaviour:
        request_id = clean_request_id(_metadata_value(details, REQUEST_ID_HEADER))

        async def with_request_id(request: Any, context: Context) -> Any:
            token = request_id_var.set(request_id)
            try:
                return await behaviour(request, context)
            finally:
                request_id_var.reset(token)

        return with_request_id


class ErrorInterceptor(_UnaryInterceptor):
    """Domain errors become their gRPC status; anything else is INTERNAL, without details.
    Logs one line per call (method, status, time, request id): at INFO when it failed or
    was slow, else at DEBUG (an INFO line for every call cost ~7% of the service's CPU)."""

    def wrap(self, behaviour: Any, details: grpc.HandlerCallDetails) -> Behaviour:
        method = details.method.removeprefix(SERVICE_PREFIX)

        async def mapping_errors(request: Any, context: Context) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                return await behaviour(request, context)
            except DomainError as exc:
                code = exc.grpc_code
                await context.abort(exc.grpc_code, exc.message, exc.trailing_metadata())
            except grpc.aio.AbortError:
                code = grpc.StatusCode.ABORTED
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                elapsed = time.perf_counter() - started
                level = (
                    logging.INFO
                    if code is not grpc.StatusCode.OK or elapsed > SLOW_RPC_SECONDS
                    else logging.DEBUG
                )
                log.log(level, "rpc %s %s %.1fms", method, code.name, elapsed * 1000)
                observe_call(method, code.name, elapsed)

        return mapping_errors


class AuthInterceptor(_UnaryInterceptor):
    """Verifies `authorization: Bearer <jwt>` (UNAUTHENTICATED else) and makes the caller
    available to the servicer through `current_caller()`.

    A user's access token acts for that user. A service token (auth's client-credentials
    grant, scope `conversations:agent`) acts for the user named in `x-acting-user`: the
    agent verified that user's token when the turn began, and its writes must not depend
    on that token staying valid for as long as the model takes. Without x-acting-user a
    service token calls for itself: only RPCs that `require_service_scope` accept it.
    """

    def __init__(self, verifier: CachingVerifier) -> None:
        self._verifier = verifier

    def wrap(self, behaviour: Any, details: grpc.HandlerCallDetails) -> Behaviour:
        authorization = _metadata_value(details, "authorization")
        acting_user = _metadata_value(details, ACTING_USER_HEADER)

        async def authenticated(request: Any, context: Context) -> Any:
            caller, service = await self._caller(authorization, acting_user)
            token, service_token = _caller.set(caller), _service.set(service)
            if caller is not None:
                user_id_var.set(str(caller.user_id))  # this call's own task: for log lines
            try:
                return await behaviour(request, context)
            finally:
                _service.reset(service_token)
                _caller.reset(token)

        return authenticated

    async def _caller(
        self, authorization: str | None, acting_user: str | None
    ) -> tuple[Caller | None, ServiceToken | None]:
        """The user a call is for, or (no x-acting-user, a service token) the service
        calling for itself, which only `require_service_scope` RPCs accept."""
        if acting_user is None:
            try:
                verified = await self._verifier.authenticate(authorization)
            except Unauthenticated:
                service = await self._service_or_none(authorization)
                if service is None:
                    raise
                return None, service
            return Caller(verified.user_id, is_agent=False), None
        return await self._agent(authorization, acting_user), None

    async def _service_or_none(self, authorization: str | None) -> ServiceToken | None:
        try:
            return await self._verifier.verify_service(bearer_token(authorization))
        except Unauthenticated:
            return None

    async def _agent(self, authorization: str | None, acting_user: str) -> Caller:
        service = await self._verifier.verify_service(bearer_token(authorization))
        if AGENT_SCOPE not in service.scopes:
            raise PermissionDenied("this service may not act for users")
        try:
            return Caller(UUID(acting_user), is_agent=True)
        except ValueError:
            raise Unauthenticated(f"{ACTING_USER_HEADER} must be a user id") from None


def interceptors(verifier: CachingVerifier) -> list[_Interceptor]:
    return [RequestIdInterceptor(), ErrorInterceptor(), AuthInterceptor(verifier)]
