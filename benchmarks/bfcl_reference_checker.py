"""BFCL's own verdicts on decoded tool calls: run in the side venv that has bfcl-eval and what
its checker imports (benchmarks/bfcl_agreement.py makes it), never with fleetbench's.

Reads JSON lines on stdin, one output each:
  {"key": str, "category": str, "functions": [BFCL function docs], "answers": [ground truth] | null,
   "decoded": [{name: arguments}, ...] | null (null: the reply did not decode), "model_name": str}
and writes {"key", "valid", "error_type"} lines on stdout, in order. The verdict is what
`bfcl_eval/eval_checker/eval_runner.py` decides after decoding: irrelevance categories pass
when nothing decodes or the decoded output is empty (`is_empty_output`); the others fail an
undecodable reply and otherwise take `ast_checker`'s verdict for the category, the model
name deciding (as in BFCL) whether dots in function names were sent as underscores.
A checker exception is reported as `error_type: "exception: ..."` with `valid: null`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bfcl_eval.constants.enums import Language
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
from bfcl_eval.utils import is_empty_output, is_function_calling_format_output


def verdict(case: dict[str, Any]) -> tuple[bool | None, str]:
    decoded = case["decoded"]
    category = case["category"]
    if "irrelevance" in category:
        if decoded is None or is_empty_output(decoded):
            return True, ""
        return False, "irrelevance_error:decoder_success"
    if decoded is None:
        return False, "ast_decoder:decoder_failed"
    if not is_function_calling_format_output(decoded):
        return False, "ast_decoder:decoder_wrong_output_format"
    result = ast_checker(case["functions"], decoded, case["answers"], Language.PYTHON, category, case["model_name"])
    return bool(result["valid"]), "" if result["valid"] else str(result.get("error_type", ""))


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        try:
            valid, error_type = verdict(case)
        except Exception as exc:  # noqa: BLE001 - the reference's own crash is a finding, not ours
            valid, error_type = None, f"exception: {type(exc).__name__}: {exc}"[:300]
        sys.stdout.write(json.dumps({"key": case["key"], "valid": valid, "error_type": error_type}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
