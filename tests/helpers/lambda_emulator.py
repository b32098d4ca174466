"""One Lambda execution environment for AWS's rotation functions, writing its log as Lambda
does: ``python lambda_emulator.py CODE_DIR`` (tests/helpers/capture_rotation_logs.py starts it).

Reads on stdin ``{"invocations": [{"SecretId", "ClientRequestToken", "Step", "RequestId"}],
"format": "Text" | "JSON", "timeout": seconds, "block": [modules], "stop": bool}``, imports
``lambda_function`` from CODE_DIR (AWS's code, unmodified) once, as Lambda's init does, and
calls its ``lambda_handler`` once per invocation in this one process (a warm environment);
with ``"stop": true`` no invocation follows one that failed (Secrets Manager does not invoke the
next step of a rotation whose step failed).
Prints one JSON list: the log events, ``{"timestamp": ms, "message": str}``, each what Lambda
would send to CloudWatch Logs as one event. Nothing is invented but the envelope: the
messages, the exceptions and their tracebacks are those AWS's code produced in this run.

The envelope follows Lambda's Python runtime, awslambdaric
(https://github.com/aws/aws-lambda-python-runtime-interface-client, bootstrap.py and
lambda_runtime_log_utils.py at 46e4c6a11064b8adc8e0dce34a647a04e37ae79c), and the log
formats of https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html:

* Text: a record of the ``logging`` module is ``[LEVEL]\\t<UTC time>.<ms>Z\\t<request id>\\t<message>``;
  an exception the handler raises is one event ``[ERROR] <Type>: <message>`` followed by
  ``Traceback (most recent call last):`` and the frames (awslambdaric's ``log_error``, which
  replaces the frames' leading spaces with no-break spaces); Lambda's own lines are
  ``START RequestId: <id> Version: $LATEST``, ``END RequestId: <id>``,
  ``REPORT RequestId: <id>\\tDuration: ...`` and, past the timeout,
  ``<time> <id> Task timed out after <N>.00 seconds``.
* JSON: a record is ``{"timestamp", "level", "message", "logger", "requestId"}``; an
  exception the handler raises is ``{"timestamp", "log_level": "ERROR", "errorMessage",
  "errorType", "requestId", "stackTrace"}``; Lambda's own lines are ``platform.start``,
  ``platform.runtimeDone`` and ``platform.report`` events with a ``record``.

A run past ``timeout`` seconds is stopped by SIGALRM with an exception AWS's code cannot
catch (it catches ``Exception`` only), as Lambda stops the runtime; a module in ``block`` fails
to import, as it does when the deployment package lacks it.
"""

from __future__ import annotations

import importlib.abc
import json
import logging
import signal
import sys
import time
import traceback

FORMAT = "Text"
NBSP = "\u00a0"
EVENTS: list[dict] = []
REQUEST = {"id": ""}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def emit(message: str, ms: int | None = None) -> None:
    EVENTS.append({"timestamp": _now_ms() if ms is None else ms, "message": message})


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        ms = int(record.created * 1000)
        if FORMAT == "JSON":
            out = {
                "timestamp": _iso(ms),
                "level": record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
                "requestId": REQUEST["id"],
            }
            if record.exc_info:
                out["errorType"] = record.exc_info[0].__name__
                out["errorMessage"] = str(record.exc_info[1])
                out["stackTrace"] = [f.replace(CODE_DIR, "/var/task") for f in traceback.format_tb(record.exc_info[2])]
                out["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
            emit(json.dumps(out, ensure_ascii=False) + "\n", ms)
        else:
            text = f"[{record.levelname}]\t{_iso(ms)}\t{REQUEST['id']}\t{record.getMessage()}\n"
            if record.exc_info:
                text += "".join(traceback.format_exception(*record.exc_info))
            emit(text, ms)


class _Stopped(BaseException):
    """Lambda stopping the runtime at the timeout (AWS's code catches only Exception)."""


class _Block(importlib.abc.MetaPathFinder):
    def __init__(self, names: list[str]) -> None:
        self.names = set(names)

    def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
        if name.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None


CODE_DIR = ""


def _frames(tb) -> list[str]:  # type: ignore[no-untyped-def]
    """The traceback from AWS's code down, as the runtime keeps it (it drops its own frames),
    with the code where Lambda puts it: /var/task."""
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        if "lambda_emulator.py" not in frame.filename:
            frames = frames[i:]
            break
    return [f.replace(CODE_DIR, "/var/task") for f in traceback.format_list(frames)]


def log_error(error_type: str, message: str, stack: list[str] | None) -> None:
    if FORMAT == "JSON":
        out = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
            "log_level": "ERROR",
            "errorMessage": message,
            "errorType": error_type,
            "requestId": REQUEST["id"],
            "stackTrace": stack or [],
        }
        emit(json.dumps(out))
        return
    lines = [f"[ERROR] {error_type}: {message}" if message else f"[ERROR] {error_type}"]
    lines.append("Traceback (most recent call last):")
    for element in stack or []:
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append(NBSP * (len(line) - len(stripped)) + stripped)
    emit("\n".join(lines))


def _system(kind: str, request_id: str, **record: object) -> None:
    ms = _now_ms()
    emit(json.dumps({"time": _iso(ms), "type": kind, "record": {"requestId": request_id, **record}}), ms)


def main() -> int:
    global FORMAT, CODE_DIR
    code_dir = sys.argv[1]
    CODE_DIR = code_dir.rstrip("/")
    spec = json.load(sys.stdin)
    FORMAT = spec.get("format", "Text")
    timeout = float(spec.get("timeout", 30))
    root = logging.getLogger()
    root.handlers[:] = [_Handler()]
    root.setLevel(logging.INFO)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if spec.get("block"):
        sys.meta_path.insert(0, _Block(spec["block"]))
    sys.path.insert(0, code_dir)

    init_error = None
    try:
        handler = importlib.import_module("lambda_function").lambda_handler
    except ImportError as exc:  # awslambdaric's _get_handler
        handler = None
        init_error = ("Runtime.ImportModuleError", f"Unable to import module 'lambda_function': {exc}")
        log_error(*init_error, [])

    def stop(*_: object) -> None:
        raise _Stopped()

    signal.signal(signal.SIGALRM, stop)
    for inv in spec["invocations"]:
        rid = inv["RequestId"]
        REQUEST["id"] = rid
        if FORMAT == "JSON":
            _system("platform.start", rid, version="$LATEST")
        else:
            emit(f"START RequestId: {rid} Version: $LATEST\n")
        started = time.monotonic()
        status, error_type = "success", None
        event = {k: inv[k] for k in ("SecretId", "ClientRequestToken", "Step")}
        if handler is None:
            assert init_error is not None
            log_error(*init_error, [])  # the runtime tries the init again in the invocation
            status, error_type = "error", init_error[0]
        else:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                handler(event, None)
            except _Stopped:
                status = "timeout"
            except Exception as exc:
                status, error_type = "error", type(exc).__name__
                log_error(type(exc).__name__, str(exc), _frames(sys.exc_info()[2]))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        duration = (time.monotonic() - started) * 1000
        if status == "timeout":
            duration = timeout * 1000
            if FORMAT == "Text":
                emit(f"{_iso(_now_ms())} {rid} Task timed out after {timeout:.2f} seconds\n")
        if FORMAT == "JSON":
            metrics = {"durationMs": round(duration, 3), "billedDurationMs": int(duration) + 1,
                       "memorySizeMB": 128, "maxMemoryUsedMB": 80}  # fmt: skip
            _system("platform.runtimeDone", rid, status=status, **({"errorType": error_type} if error_type else {}))
            _system("platform.report", rid, metrics=metrics, status=status,
                    **({"errorType": error_type} if error_type else {}))  # fmt: skip
        else:
            emit(f"END RequestId: {rid}\n")
            report = (
                f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: {int(duration) + 1} ms\t"
                "Memory Size: 128 MB\tMax Memory Used: 80 MB\t"
            )
            if status != "success":
                report += f"Status: {status}\t" + (f"Error Type: {error_type}\t" if error_type else "")
            emit(report + "\n")
        if status == "timeout":
            break  # Lambda discards a timed-out environment; the next invocation gets a new one
        if status != "success" and spec.get("stop"):
            break
    print(json.dumps(EVENTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
