"""Walk a template's control blocks, tracking `.`, `$vars` and the enclosing conditions.

Every piece of text and every output action gets the environment it renders in, so a
`toYaml .` inside `with .Values.podSecurityContext` resolves to that values key, and a
field inside `if .Values.podSecurityContext.enabled` knows its gate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kfix.helm import absval as A
from kfix.helm.expr import Dot, Field, Ident, Lit, Pipe, Var
from kfix.helm.gotmpl import Action, Block, Define, Token


@dataclass(frozen=True)
class Env:
    dot: A.AV
    dollar: A.AV
    vars: tuple[tuple[str, A.AV], ...] = ()

    def var(self, name: str) -> A.AV:
        if name == "$":
            return self.dollar
        for k, v in reversed(self.vars):
            if k == name:
                return v
        return A.UNKNOWN

    def bind(self, name: str, av: A.AV) -> "Env":
        return replace(self, vars=self.vars + ((name, av),))


ROOT_ENV = Env(A.Root(), A.Root())


@dataclass(frozen=True, eq=False)
class Cond:
    """One branch of an if/with/range that a piece of text sits in (compared by identity)."""

    word: str  # if, else if, else, with, else with, range
    text: str  # this branch's pipeline ("" for else)
    negated: tuple[str, ...]  # earlier branches of the same chain, all false here
    truthy: tuple[tuple[str, ...], ...]  # values paths that must be truthy here
    block: object  # the Block (identity)
    branch: int

    def describe(self) -> str:
        parts = [f"not ({t})" for t in self.negated]
        if self.text:
            word = self.word.split()[-1]
            parts.append(self.text if word == "if" else f"{word} {self.text}")
        return " and ".join(parts)


@dataclass(frozen=True)
class Info:
    env: Env
    conds: tuple[Cond, ...]


def is_output(act: Action) -> bool:
    return act.word == "template" or (act.word == "" and act.pipe is not None and not act.pipe.decl)


class Evaluator:
    """Evaluates pipelines abstractly; includes go through the chart's named templates."""

    def __init__(self, helpers: "dict[str, Helper]"):
        self.helpers = helpers
        self._memo: dict[tuple[str, A.AV], A.AV] = {}
        self._active: set[tuple[str, A.AV]] = set()

    # -- expressions ------------------------------------------------------
    def node(self, n: object, env: Env) -> A.AV:
        """One operand: `.`, `$v`, a literal, `(pipe)`, a field chain or a bare function."""
        if isinstance(n, Dot):
            return env.dot
        if isinstance(n, Var):
            return env.var(n.name)
        if isinstance(n, Lit):
            return A.VLit(n.value)
        if isinstance(n, Pipe):
            return self.pipe(n, env)
        if isinstance(n, Field):
            cur = self.node(n.base, env)
            for name in n.names:
                cur = A.access(cur, name)
            return cur
        if isinstance(n, Ident):
            return A.call(n.name, [], [])
        return A.UNKNOWN

    def pipe(self, p: Pipe, env: Env) -> A.AV:
        """A pipeline: each command's result is the last argument of the next."""
        val: A.AV | None = None
        for cmd in p.cmds:
            head, rest = cmd[0], list(cmd[1:])
            if isinstance(head, Ident):
                avs = [self.node(a, env) for a in rest]
                lits = [a.value if isinstance(a, Lit) else None for a in rest]
                if val is not None:
                    avs.append(val)
                    lits.append(None)
                if head.name in ("include", "template") and lits and isinstance(lits[0], str):
                    val = self.include(lits[0], avs[1] if len(avs) > 1 else A.UNKNOWN)
                else:
                    val = A.call(head.name, avs, lits)
            else:
                val = self.node(head, env) if not rest and val is None else A.UNKNOWN
        return val if val is not None else A.UNKNOWN

    def truthy(self, p: Pipe | None, env: Env) -> tuple[tuple[str, ...], ...]:
        """Values paths that a condition requires to be truthy (plain paths and `and`)."""
        if p is None or len(p.cmds) != 1:
            return ()
        cmd = p.cmds[0]
        if isinstance(cmd[0], Ident) and cmd[0].name == "and":
            ops = cmd[1:]
        elif len(cmd) == 1:
            ops = cmd
        else:
            return ()
        out: list[tuple[str, ...]] = []
        for op in ops:
            if isinstance(op, Pipe):
                out.extend(self.truthy(op, env))
            elif isinstance(op, (Field, Var, Dot)):
                av = self.node(op, env)
                if isinstance(av, A.VPath) and av.path:
                    out.append(av.path)
        return tuple(out)

    def output(self, act: Action, env: Env) -> A.AV:
        """What an output action renders: a pipeline, or `{{ template "x" arg }}`."""
        if act.word == "template":
            return self.include(act.name, self.pipe(act.pipe, env) if act.pipe else A.UNKNOWN)
        return self.pipe(act.pipe, env) if act.pipe else A.UNKNOWN

    # -- named templates ----------------------------------------------------
    def include(self, name: str, arg: A.AV) -> A.AV:
        """What a named template renders for `arg` (memoised; recursion gives Unknown)."""
        h = self.helpers.get(name)
        key = (name, arg)
        if h is None and name.endswith(".resources.preset") and isinstance(arg, A.VDict):
            # Bitnami's common library before `helm dependency build`: its preset helper, known by name
            typ = dict(arg.items).get("type")
            if isinstance(typ, A.VPath) and typ.path:
                return A.VPreset(typ.path)
        if h is None or key in self._active or len(self._active) > 32:
            return A.UNKNOWN  # unknown helper, or recursion
        if key not in self._memo:
            self._active.add(key)
            try:
                infos: dict[int, Info] = {}
                walk(h.define.body, Env(arg, arg), (), self, infos)
                outs = [self.output(a, infos[a.tok.start].env)
                        for a in outputs(h.define.body) if a.tok.start in infos]
                val = A.unify(outs)
                if h.has_text:  # literal YAML around the values: only their sources are known
                    src = A.sources(A.VList(tuple(outs)))
                    val = A.Computed(src) if src else A.UNKNOWN
                self._memo[key] = val
            finally:
                self._active.discard(key)
        return self._memo[key]


@dataclass
class Helper:
    """A named template and where it lives (for expanding it in place)."""

    define: Define
    src: str
    path: str  # chart-relative file path
    has_text: bool


def outputs(nodes: list) -> list[Action]:
    """Output actions of a body, in blocks too (not in nested defines)."""
    out: list[Action] = []
    for n in nodes:
        if isinstance(n, Action) and is_output(n):
            out.append(n)
        elif isinstance(n, Block):
            for br in n.branches:
                out.extend(outputs(br.body))
    return out


def has_text(src: str, nodes: list) -> bool:
    for n in nodes:
        if isinstance(n, Token) and src[n.start:n.end].strip():
            return True
        if isinstance(n, Block) and any(has_text(src, br.body) for br in n.branches):
            return True
    return False


def walk(nodes: list, env: Env, conds: tuple[Cond, ...], ev: Evaluator, out: dict[int, Info]) -> Env:
    """Record an Info for every text token and output action, keyed by offset."""
    for n in nodes:
        if isinstance(n, Token):
            out[n.start] = Info(env, conds)
        elif isinstance(n, Action):
            if n.word == "" and n.pipe is not None and n.pipe.decl:
                val = ev.pipe(replace(n.pipe, decl=()), env)
                env = env.bind(n.pipe.decl[-1], val)
            elif is_output(n):
                out[n.tok.start] = Info(env, conds)
        elif isinstance(n, Block):
            _block(n, env, conds, ev, out)
        elif isinstance(n, Define):
            continue
    return env


def _block(blk: Block, env: Env, conds: tuple[Cond, ...], ev: Evaluator, out: dict[int, Info]) -> None:
    prior: list[str] = []
    for i, br in enumerate(blk.branches):
        pipe = br.action.pipe
        text = pipe.text if pipe else ""
        inner = env
        truthy: tuple[tuple[str, ...], ...] = ()
        if br.word in ("with", "else with") and pipe is not None:
            val = ev.pipe(replace(pipe, decl=()), env)
            inner = replace(env, dot=val)
            for v in pipe.decl:
                inner = inner.bind(v, val)
            truthy = (val.path,) if isinstance(val, A.VPath) and val.path else ()
        elif br.word == "range" and pipe is not None:
            elem = A.element(ev.pipe(replace(pipe, decl=()), env))
            inner = replace(env, dot=elem)
            if len(pipe.decl) == 1:
                inner = inner.bind(pipe.decl[0], elem)
            elif len(pipe.decl) == 2:
                inner = inner.bind(pipe.decl[0], A.UNKNOWN).bind(pipe.decl[1], elem)
        elif br.word in ("if", "else if"):
            truthy = ev.truthy(pipe, env)
        cond = Cond(br.word, text, tuple(prior), truthy, blk, i)
        walk(br.body, inner, conds + (cond,), ev, out)
        if text:
            prior.append(text)
