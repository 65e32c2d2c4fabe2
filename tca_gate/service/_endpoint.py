"""``Endpoint``: a call defined once, a method of both the sync and the async client.

On a ``SyncServiceClient`` it is a method returning the value; on an
``AsyncServiceClient`` the same method returns a coroutine (so ``asyncio.create_task``
takes it). Type checkers see the builder's parameters either way.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from ._call import Call
from ._shells import AsyncServiceClient, SyncServiceClient

C = TypeVar("C")
P = ParamSpec("P")
T = TypeVar("T")


class Endpoint(Generic[C, P, T]):
    """Wraps ``build(context, *args) -> Call``: clients expose it as ``method(*args)``."""

    def __init__(self, build: Callable[Concatenate[C, P], Call[T]]) -> None:
        self.build = build
        signature = inspect.signature(build)
        self.__signature__ = signature.replace(
            parameters=list(signature.parameters.values())[1:],
            return_annotation=inspect.Signature.empty,
        )
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.__name__ = name

    def __repr__(self) -> str:
        return f"<endpoint {self.__name__}{self.__signature__}>"

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, instance: SyncServiceClient[C], owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(
        self, instance: AsyncServiceClient[C], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(
        self, instance: SyncServiceClient[C] | AsyncServiceClient[C] | None, owner: type[Any]
    ) -> Self | Callable[P, T] | Callable[P, Coroutine[Any, Any, T]]:
        if instance is None:
            return self
        build, run, context = self.build, instance._run, instance.context

        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return run(build(context, *args, **kwargs))

        method.__name__ = method.__qualname__ = self.__name__
        method.__doc__ = self.__doc__
        method.__dict__["__signature__"] = self.__signature__
        return method
