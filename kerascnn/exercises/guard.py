"""What student code may not do while it is graded: import kerascnn (the answers), exit the grader.

While the student's file loads and while any of its functions runs (:func:`student_running`):

- every ``kerascnn`` module is taken out of ``sys.modules`` (put back afterwards, so the checks
  keep their references), and a meta-path finder refuses to import ``kerascnn`` afresh: so
  ``import kerascnn``, ``__import__`` and ``importlib.import_module`` all fail with a message;
- the student module's own ``__import__`` refuses ``kerascnn`` names too;
- ``sys.exit`` / ``exit()`` become an ordinary error (:class:`StudentExit`) that fails the check;
- a ``MemoryError`` says which limit was reached.

The checks see the student's module through :class:`GuardedModule`, whose functions run under
that guard. This keeps honest students honest and makes "import the reference" fail loudly; it is
not a security boundary against someone who walks Python's object graph (``gc``, frames). The
sandbox (:mod:`.sandbox`) adds a process, limits, no network and no reading kerascnn's files.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import importlib.abc
import sys
import types

BLOCKED = "kerascnn"
BLOCKED_MESSAGE = ("importing kerascnn is not allowed in an exercise submission: the grader compares your "
                   "code with kerascnn's reference implementations, so write the code yourself")


class StudentExit(RuntimeError):
    """The student's code called ``sys.exit()``/``exit()``/``quit()``."""


class StudentMemoryError(MemoryError):
    """The student's code ran out of the memory the grader allows."""


def is_blocked(name: str) -> bool:
    return name == BLOCKED or name.startswith(BLOCKED + ".")


class _State:
    depth = 0  # > 0 while student code runs
    hidden: dict = {}
    memory_note = ""


class _BlockFinder(importlib.abc.MetaPathFinder):
    """Refuses ``kerascnn`` imports while student code runs."""

    def find_spec(self, fullname, path=None, target=None):
        if _State.depth and is_blocked(fullname):
            raise ImportError(BLOCKED_MESSAGE, name=fullname)
        return None


_FINDER = _BlockFinder()


def _install_finder() -> None:
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and is_blocked(name):
        raise ImportError(BLOCKED_MESSAGE, name=name)
    return builtins.__import__(name, globals, locals, fromlist, level)


def student_builtins() -> dict:
    """The builtins a student module runs with: the usual ones, with kerascnn imports refused."""
    namespace = dict(vars(builtins))
    namespace["__import__"] = _guarded_import
    return namespace


def student_code_running() -> bool:
    """True while the student's file loads or one of its functions runs."""
    return _State.depth > 0


def set_memory_note(text: str) -> None:
    """How a MemoryError is explained (the sandbox says which limit it set)."""
    _State.memory_note = text


@contextlib.contextmanager
def student_running():
    """Run student code: kerascnn hidden and unimportable, ``sys.exit`` turned into an error."""
    _install_finder()
    if _State.depth == 0:
        _State.hidden = {name: module for name, module in sys.modules.items() if is_blocked(name)}
        for name in _State.hidden:
            del sys.modules[name]
    _State.depth += 1
    try:
        yield
    except SystemExit as exit_:  # keep the student's frames in the traceback: messages name the line
        code = "" if exit_.code is None else repr(exit_.code)
        raise StudentExit(f"sys.exit({code}) was called: graded code must return its result, "
                          "not end the program").with_traceback(exit_.__traceback__) from None
    except MemoryError as error:
        if isinstance(error, StudentMemoryError):
            raise
        raise StudentMemoryError(f"out of memory{_State.memory_note}: use smaller arrays "
                                 "(or fewer copies of them)").with_traceback(error.__traceback__) from None
    finally:
        _State.depth -= 1
        if _State.depth == 0:
            sys.modules.update(_State.hidden)
            _State.hidden = {}


def _guarded_function(function):
    @functools.wraps(function)
    def call(*args, **kwargs):
        with student_running():
            return function(*args, **kwargs)

    return call


class GuardedModule(types.ModuleType):
    """The student's module as the checks see it: its functions run under :func:`student_running`."""

    def __init__(self, module: types.ModuleType, where=None):
        super().__init__(module.__name__, module.__doc__)
        self.__file__ = getattr(module, "__file__", None)
        self.__where__ = where  # line number -> "line 12" / "code cell 3, line 4" (see checking.run_check)
        object.__setattr__(self, "_student_module", module)

    def __getattr__(self, name: str):
        value = getattr(object.__getattribute__(self, "_student_module"), name)
        return _guarded_function(value) if isinstance(value, types.FunctionType) else value

    def __dir__(self):
        return dir(object.__getattribute__(self, "_student_module"))
