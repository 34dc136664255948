"""The tool-use phase's prompt variants: the system prompt each one sends, and how tools are
described where the provider takes none natively.

Why variants: local models are "Tier 3" (tool-incapable) with a plain prompt; the question is
whether few-shot examples, XML tool definitions or step-by-step instructions lift them, and
by how much. Prompt mode asks for JSON (or `<tool_call>` XML): fleetbench's parser reads
those, never the model's free-form Python.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from harness.tool_scoring import PromptStyle

VARIANTS: tuple[str, ...] = ("baseline", "few-shot", "xml-tools", "step-by-step")

_BASE = ("You are an assistant that can call tools. When a tool fits the user's request, call it "
         "with arguments taken from the request. If no tool fits, answer in plain text without "
         "calling any tool.")
_JSON_FORMAT = ("To call a tool, reply with only a JSON object {\"name\": <tool name>, \"arguments\": "
                "{...}} and nothing else; for several calls, reply with only a JSON list of such objects.")
_XML_FORMAT = ("To call a tool, reply with only <tool_call>{\"name\": <tool name>, \"arguments\": {...}}"
               "</tool_call>, one block per call, and nothing else.")
_FEW_SHOT = (
    "Examples (the tools in them are illustrative; use only the tools offered below):\n"
    "User: Set a timer for 10 minutes.\n"
    "Tools: set_timer(minutes: integer)\n"
    "Reply: {call_a}\n"
    "User: Remind me to call Sam at 5pm, and set a timer for 3 minutes.\n"
    "Tools: set_timer(minutes: integer), add_reminder(text: string, time: string)\n"
    "Reply: {call_b}\n"
    "User: Tell me a joke.\n"
    "Tools: set_timer(minutes: integer)\n"
    "Reply: Why did the scarecrow win an award? He was outstanding in his field.")
_STEPS = ("Work step by step: 1) decide whether any offered tool fits the request; 2) if one does, "
          "pick it; 3) fill every required argument from the request, with the exact types the "
          "schema demands, and add no other arguments; 4) give the call. You may reason first "
          "inside <thinking>...</thinking>; after it, give only the answer.")


def _fn(tool: dict[str, Any]) -> dict[str, Any]:
    fn = tool.get("function")
    return fn if isinstance(fn, dict) else tool


def tool_names(tools: Sequence[dict[str, Any]]) -> list[str]:
    return [str(_fn(t).get("name", "")) for t in tools]


def render_tools_json(tools: Sequence[dict[str, Any]]) -> str:
    return "Tools:\n" + "\n".join(json.dumps(_fn(t), sort_keys=True) for t in tools)


def render_tools_xml(tools: Sequence[dict[str, Any]]) -> str:
    """Tools as XML: some small models follow tagged structure better than nested JSON."""
    out = ["<tools>"]
    for tool in tools:
        fn = _fn(tool)
        params = fn.get("parameters") or {}
        required = set(params.get("required") or [])
        out.append(f'  <tool name="{fn.get("name", "")}">')
        out.append(f"    <description>{fn.get('description', '')}</description>")
        for pname, schema in (params.get("properties") or {}).items():
            ptype = schema.get("type", "any") if isinstance(schema, dict) else "any"
            extra = f' enum="{"|".join(map(str, schema["enum"]))}"' if isinstance(schema, dict) and "enum" in schema else ""
            out.append(f'    <parameter name="{pname}" type="{ptype}" required="{str(pname in required).lower()}"{extra}/>')
        out.append("  </tool>")
    out.append("</tools>")
    return "\n".join(out)


def system_prompt(variant: str, tools: Sequence[dict[str, Any]], mode: str) -> tuple[str, PromptStyle]:
    """The variant's system prompt and the reply style prompt mode will parse."""
    style: PromptStyle = "xml" if variant == "xml-tools" else "json"
    parts = [_BASE]
    if mode == "prompt":
        parts.append(_XML_FORMAT if style == "xml" else _JSON_FORMAT)
    if variant == "few-shot":
        a = {"name": "set_timer", "arguments": {"minutes": 10}}
        b = [{"name": "add_reminder", "arguments": {"text": "call Sam", "time": "17:00"}},
             {"name": "set_timer", "arguments": {"minutes": 3}}]
        if mode == "prompt" and style == "xml":
            call_a = f"<tool_call>{json.dumps(a)}</tool_call>"
            call_b = "".join(f"<tool_call>{json.dumps(c)}</tool_call>" for c in b)
        elif mode == "prompt":
            call_a, call_b = json.dumps(a), json.dumps(b)
        else:
            call_a, call_b = "(calls set_timer with " + json.dumps(a["arguments"]) + ")", \
                "(calls add_reminder and set_timer, both in one reply)"
        parts.append(_FEW_SHOT.format(call_a=call_a, call_b=call_b))
    if variant == "step-by-step":
        parts.append(_STEPS)
    if variant == "xml-tools":
        parts.append(render_tools_xml(tools))
    elif mode == "prompt":
        parts.append(render_tools_json(tools))
    return "\n\n".join(parts), style
