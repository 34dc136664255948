"""Generation with llama.cpp: lazy loading, one generation at a time, a streamed token iterator.

Why one worker thread: a `llama_cpp.Llama` is not safe to use concurrently, and on a
2-core machine two generations at once would only slow both. Everything that touches
llama.cpp (loading, tokenizing, generating) runs on a single-thread executor, so requests
queue there in arrival order while the server's event loop stays free to accept, stream
and answer /api/ps. Tokens cross back to the loop through an asyncio.Queue.

Token counts are the real tokenizer's: `prompt_tokens` is the length of the tokenized
prompt and `output_tokens` the number of tokens sampled (the end-of-generation token is
not counted, as it is never shown).
"""

from __future__ import annotations

import asyncio
import codecs
import os
import threading
import time
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from localmodels import files

# llama.cpp is built with OpenMP, whose idle threads spin at every barrier by default; on a
# machine whose cores are shared (Ray's daemons, the subagents, anyone else), a spinning
# thread waits for a descheduled peer at each of the hundreds of barriers per token.
# Measured on the 2 busy cores here (64 tokens, smollm2, 2 threads): 53-57 s spinning,
# 2.9-3.7 s with passive waits, 3.7-4.5 s with 1 thread. Read by libgomp when llama.cpp loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from localmodels.registry import ModelSpec


class ContextOverflow(Exception):
    def __init__(self, tokens: int, n_ctx: int) -> None:
        super().__init__(f"input length ({tokens} tokens) exceeds the context length ({n_ctx})")
        self.tokens = tokens
        self.n_ctx = n_ctx


@dataclass(frozen=True, slots=True)
class Options:
    num_predict: int | None = None  # None or <= 0: until end of generation or the context fills
    temperature: float = 0.8  # Ollama's default
    top_k: int = 40
    top_p: float = 0.9
    stop: tuple[str, ...] = ()
    # Ollama's `format`: a JSON Schema (as JSON text) or "json"; decoding is then constrained
    # by a llama.cpp grammar, so the reply is valid JSON of that shape by construction.
    json_format: str | None = None


@dataclass(frozen=True, slots=True)
class Started:
    prompt_tokens: int


@dataclass(frozen=True, slots=True)
class Piece:
    text: str


@dataclass(frozen=True, slots=True)
class Final:
    prompt_tokens: int
    output_tokens: int
    done_reason: str  # "stop" (end of generation or a stop string) or "length"
    load_ns: int
    prompt_eval_ns: int
    eval_ns: int
    total_ns: int


Event = Started | Piece | Final


@dataclass
class Loaded:
    spec: ModelSpec
    llama: Any
    size_bytes: int
    bos_text: str = ""
    formatter: Any = None  # llama_cpp's Jinja2ChatFormatter for the GGUF's own chat template
    last_used: float = field(default_factory=time.time)


Message = dict[str, str]


def render_base_prompt(messages: list[Message]) -> str:
    """A base model has no chat template: render turns as plain Q/A completion text."""
    text = ""
    for m in messages:
        content = m.get("content", "")
        role = m.get("role", "user")
        if role == "system":
            text += content.strip() + "\n\n"
        elif role == "assistant":
            text += f" {content.strip()}\n"
        else:
            text += f"Question: {content.strip()}\nAnswer:"
    return text


class StopMatcher:
    """Holds back text that might be the start of a stop string, so none is ever shown."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Returns (text safe to emit, whether a stop string was hit)."""
        self.pending += text
        hits = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.pending = self.pending[: min(hits)], ""
            return out, True
        keep = 0
        for s in self.stops:
            for n in range(min(len(s) - 1, len(self.pending)), 0, -1):
                if self.pending.endswith(s[:n]):
                    keep = max(keep, n)
                    break
        out = self.pending[: len(self.pending) - keep]
        self.pending = self.pending[len(out):]
        return out, False

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


class Engine:
    """Loads models on first use and keeps them loaded for the life of the process."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._loaded: dict[str, Loaded] = {}
        self._lock = threading.Lock()  # guards `_loaded` between the worker and the loop
        self._grammars: dict[str, Any] = {}

    def loaded(self) -> list[Loaded]:
        with self._lock:
            return list(self._loaded.values())

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for entry in self._loaded.values():
                entry.llama.close()
            self._loaded.clear()

    def _ensure_loaded(self, spec: ModelSpec) -> tuple[Loaded, int]:
        """(model, nanoseconds spent loading it now: 0 when it was already loaded)."""
        with self._lock:
            entry = self._loaded.get(spec.name)
        if entry is not None:
            return entry, 0
        from llama_cpp import Llama  # heavy native import, paid only by a process that serves

        from localmodels.logs import quiet_llama_logs

        quiet_llama_logs()
        t0 = time.monotonic_ns()
        path = files.model_path(spec)
        llama = Llama(model_path=str(path), n_ctx=spec.n_ctx, n_threads=spec.n_threads,
                      n_threads_batch=spec.n_threads, verbose=False)
        entry = Loaded(spec=spec, llama=llama, size_bytes=path.stat().st_size)
        model = llama._model
        bos, eos = llama.token_bos(), llama.token_eos()
        entry.bos_text = model.token_get_text(bos) if bos != -1 else ""
        template = llama.metadata.get("tokenizer.chat_template")
        if spec.chat_template and template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            entry.formatter = Jinja2ChatFormatter(
                template=template, bos_token=entry.bos_text,
                eos_token=model.token_get_text(eos) if eos != -1 else "", add_generation_prompt=True)
        with self._lock:
            self._loaded[spec.name] = entry
        return entry, time.monotonic_ns() - t0

    async def load(self, spec: ModelSpec) -> None:
        """Load ahead of the first request (so the first measured TTFT is not a load time)."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._ensure_loaded, spec)

    @staticmethod
    def render(entry: Loaded, messages: list[Message]) -> str:
        if entry.formatter is None:
            return render_base_prompt(messages)
        prompt: str = entry.formatter(messages=messages).prompt
        return prompt

    @staticmethod
    def tokenize(entry: Loaded, prompt: str) -> list[int]:
        """special=True: chat templates contain control tokens (<|im_start|>) that must stay
        single tokens; no second BOS when the template already wrote one."""
        add_bos = not (entry.bos_text and prompt.startswith(entry.bos_text))
        tokens: list[int] = entry.llama.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens

    async def generate(self, spec: ModelSpec, options: Options, *, prompt: str | None = None,
                       messages: list[Message] | None = None) -> AsyncGenerator[Event, None]:
        """Give `prompt` (raw text) or `messages` (rendered with the model's template).
        Yields `Started`, then `Piece`s as tokens are sampled, then one `Final`.

        Raises `ContextOverflow` before `Started` if the prompt does not fit. Closing the
        iterator early (a client that hung up) stops the generation at the next token.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event | BaseException] = asyncio.Queue()
        cancel = threading.Event()

        def put(item: Event | BaseException) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        future = loop.run_in_executor(self._executor, self._run, spec, prompt, messages, options, put, cancel)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, Final):
                    break
            await future
        finally:
            cancel.set()

    def _run(self, spec: ModelSpec, prompt: str | None, messages: list[Message] | None, options: Options,
             put: Any, cancel: threading.Event) -> None:
        try:
            self._generate(spec, prompt, messages, options, put, cancel)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the waiting request
            put(exc)

    def _grammar(self, json_format: str | None) -> Any:
        """A (cached) grammar for Ollama's `format`; None when the request set none."""
        if json_format is None:
            return None
        from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

        with self._lock:
            cached = self._grammars.get(json_format)
        if cached is None:
            cached = (LlamaGrammar.from_string(JSON_GBNF, verbose=False) if json_format == "json"
                      else LlamaGrammar.from_json_schema(json_format, verbose=False))
            with self._lock:
                self._grammars[json_format] = cached
        return cached

    def _generate(self, spec: ModelSpec, prompt: str | None, messages: list[Message] | None,
                  options: Options, put: Any, cancel: threading.Event) -> None:
        if cancel.is_set():
            return
        import llama_cpp

        t_start = time.monotonic_ns()
        entry, load_ns = self._ensure_loaded(spec)
        entry.last_used = time.time()
        llama = entry.llama
        text = prompt if prompt is not None else self.render(entry, messages or [])
        tokens = self.tokenize(entry, text)
        n_ctx = int(llama.n_ctx())
        if len(tokens) >= n_ctx:
            raise ContextOverflow(len(tokens), n_ctx)
        put(Started(prompt_tokens=len(tokens)))
        budget = n_ctx - len(tokens)
        if options.num_predict is not None and options.num_predict > 0:
            budget = min(budget, options.num_predict)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        matcher = StopMatcher(options.stop)
        vocab = llama._model.vocab
        generated = 0
        reason = "stop"
        t_gen = time.monotonic_ns()
        t_first: int | None = None
        hit = False
        if budget <= 0:
            reason = "length"
        else:
            for token in llama.generate(tokens, temp=options.temperature, top_k=options.top_k,
                                        top_p=options.top_p, repeat_penalty=1.0,
                                        grammar=self._grammar(options.json_format)):
                if cancel.is_set():
                    return
                if t_first is None:
                    t_first = time.monotonic_ns()
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    break
                generated += 1
                text, hit = matcher.feed(decoder.decode(llama.detokenize([token])))
                if text:
                    put(Piece(text))
                if hit:
                    break
                if generated >= budget:
                    reason = "length"
                    break
        if not hit:
            rest = matcher.flush() + decoder.decode(b"", final=True)
            if rest:
                put(Piece(rest))
        t_end = time.monotonic_ns()
        first = t_first if t_first is not None else t_end
        put(Final(prompt_tokens=len(tokens), output_tokens=generated, done_reason=reason, load_ns=load_ns,
                  prompt_eval_ns=first - t_gen, eval_ns=t_end - first, total_ns=t_end - t_start))
