"""Rendering: every default template for every event kind and format, escaping of hostile text, cutting,
notify types, user templates and the sandbox."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from apprise.conversion.format import markdown_to_html
from notify.builders import T0, event, job, snap

from watcher.model import EventKind, JobEventRecord, JobInfo, Phase, Snapshot
from watcher.notify.escape import ZWSP, safe_url
from watcher.notify.render import FIELDS, Message, Style, context, render, render_digest

FORMATS = ("text", "markdown", "html", "slack")
HOSTILE = "<img src=x onerror=alert(1)> *bold* @channel"


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read_html(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def visible(fmt: str, text: str) -> str:
    """What a reader of the channel sees (as far as this test can tell without the real app)."""
    if fmt == "html":
        text = "".join(read_html(text).text)
    elif fmt == "markdown":
        text = "".join(read_html(markdown_to_html(text)).text)
    elif fmt == "slack":
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.replace(ZWSP, "")


def style(fmt: str, **kw: Any) -> Style:
    return Style(format=fmt, title_format="text" if fmt == "html" else fmt, max_length=kw.pop("max_length", 4000), **kw)


def cases(info: JobInfo) -> dict[EventKind, tuple[Any, Snapshot]]:
    running = snap(Phase.RUNNING, "IN_PROGRESS", counters={"succeeded": 3, "failed": 1, "queued": 6})
    return {
        EventKind.WATCHING: (event(EventKind.WATCHING, info, new="running", status="IN_PROGRESS"), running),
        EventKind.PHASE: (
            event(EventKind.PHASE, info, "running", "failed", failure="3 things failed"),
            snap(Phase.FAILED, "COMPLETED", failure="things: 3 failed (of 10 ended)"),
        ),
        EventKind.STATUS: (event(EventKind.STATUS, info, "SCHEDULED", "IN_PROGRESS", phase="running"), running),
        EventKind.RESULT: (
            event(EventKind.RESULT, info, None, "TIMED_OUT"),
            snap(Phase.CANCELLED, "CANCELED", result="TIMED_OUT"),
        ),
        EventKind.PROGRESS: (event(EventKind.PROGRESS, info, moved={"succeeded": [1, 3]}), running),
        EventKind.STEP_FAILED: (
            event(EventKind.STEP_FAILED, info, step="BUILD", reason="npm ERR!", log_url="https://logs.example.com/x"),
            snap(Phase.RUNNING, "RUNNING", steps={"BUILD": "FAILED"}),
        ),
        EventKind.JOB_EVENT: (
            event(
                EventKind.JOB_EVENT,
                info,
                new="QUEUED_FOR_EXECUTION",
                type="QUEUED_FOR_EXECUTION",
                message="waiting for the device",
            ),
            snap(
                Phase.QUEUED,
                "QUEUED",
                events=(JobEventRecord(T0, "QUEUED_FOR_EXECUTION", "waiting"),),
                queue_position="3",
            ),
        ),
        EventKind.STUCK: (event(EventKind.STUCK, info, None, "running", seconds=7200, phase="running"), running),
        EventKind.VANISHED: (event(EventKind.VANISHED, info, "running", None, last_phase="running"), running),
        EventKind.ERROR: (
            event(
                EventKind.ERROR,
                info,
                new="AccessDeniedException",
                error="AccessDeniedException",
                message="not authorized",
            ),
            running,
        ),
    }


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", list(EventKind))
def test_every_default_template_renders_the_job_name_and_new_status(kind: EventKind, fmt: str) -> None:
    info = job("nightly_build #7", tags=["prod"])
    ev, snapshot = cases(info)[kind]
    fields = context(ev, info, snapshot, hostname="watch-1")
    message = render(fields, style(fmt))
    seen_title, seen_body = visible(style(fmt).title_format, message.title), visible(fmt, message.body)
    assert "nightly_build #7" in seen_title and "nightly_build #7" in seen_body
    assert fields["new_status"] and fields["new_status"] in seen_body
    assert "watch-1" in seen_body
    assert not message.body.count("None"), message.body
    if fmt == "html":
        assert set(read_html(message.body).tags) <= {
            "p",
            "strong",
            "em",
            "small",
            "table",
            "tr",
            "th",
            "td",
            "code",
            "a",
            "ul",
            "li",
        }


def test_template_fields_are_all_documented() -> None:
    info = job("x")
    ev, snapshot = cases(info)[EventKind.PHASE]
    assert set(context(ev, info, snapshot, hostname="h")) | {"link", "format"} == set(FIELDS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_names_and_messages_arrive_as_literal_text(fmt: str) -> None:
    info = job(HOSTILE)
    failure = "<script>alert(2)</script> _x_ <!here> `rm -rf` [click](javascript:alert(3)) &amp;"
    ev = event(EventKind.PHASE, info, "running", "failed")
    snapshot = snap(Phase.FAILED, "FAILED", failure=failure, info={"description": "# heading\n- item\n1. first"})
    message = render(context(ev, info, snapshot, hostname="h"), style(fmt))
    title_seen, body_seen = visible(style(fmt).title_format, message.title), visible(fmt, message.body)
    assert HOSTILE in title_seen and HOSTILE in body_seen
    assert failure in body_seen
    assert "# heading" in body_seen and "- item" in body_seen and "1. first" in body_seen
    if fmt == "text":
        assert message.title.startswith("❌ " + HOSTILE)
    elif fmt == "html":
        reader = read_html(message.body)
        assert not {"img", "script", "h1"} & set(reader.tags)
        assert all(not (value or "").startswith("javascript") for _, value in reader.attrs)
    elif fmt == "markdown":
        html = markdown_to_html(message.body)
        assert not {"img", "script", "h1", "li", "ol"} & set(read_html(html).tags)
        assert "<em>bold</em>" not in html and "<strong>bold</strong>" not in html and 'href="javascript' not in html
    else:  # slack mrkdwn: entities for < > &, markers and mentions broken by zero-width spaces
        assert "<img" not in message.body and "<!here>" not in message.body and "<script" not in message.body
        assert "*bold*" not in message.body and "@channel" not in message.body and "_x_" not in message.body
        assert "`rm -rf`" not in message.body


def test_notify_types_follow_the_event() -> None:
    info = job("t")

    def kind_of(ev: Any) -> str:
        return render(context(ev, info, None, hostname="h"), style("text")).notify_type

    assert kind_of(event(EventKind.PHASE, info, "running", "succeeded")) == "success"
    assert kind_of(event(EventKind.PHASE, info, "running", "failed")) == "failure"
    assert kind_of(event(EventKind.PHASE, info, "running", "cancelled")) == "warning"
    assert kind_of(event(EventKind.PHASE, info, "queued", "running")) == "info"
    assert kind_of(event(EventKind.STEP_FAILED, info, step="TEST")) == "failure"
    for kind in (EventKind.STUCK, EventKind.VANISHED, EventKind.ERROR):
        assert kind_of(event(kind, info)) == "warning"
    assert kind_of(event(EventKind.PROGRESS, info, moved={"a": [1, 2]})) == "info"


def test_long_untrusted_text_is_cut_and_the_body_fits_the_channel() -> None:
    info = job("n" * 2000)
    ev = event(EventKind.PHASE, info, "running", "failed")
    snapshot = snap(Phase.FAILED, "FAILED", failure="&<>" * 3000, info={"description": "d" * 5000})
    fields = context(ev, info, snapshot, hostname="h", field_max_length=100)
    assert len(fields["job_name"]) == 100 and fields["job_name"].endswith("…")
    assert len(fields["failure"]) == 200
    for fmt in FORMATS:
        message = render(fields, style(fmt, max_length=300))
        assert len(message.body) <= 300 and len(message.title) <= 250
        if fmt != "text":  # never half an entity at the cut
            tail = message.body[message.body.rfind("&") :]
            assert ";" in tail or "&" not in message.body


def test_links_are_written_per_format_and_unsafe_urls_dropped() -> None:
    info = job("t", service="braket")
    good = event(EventKind.STEP_FAILED, info, step="BUILD", log_url="https://logs.example.com/a_b?x=1&y=(2)")
    evil = event(EventKind.STEP_FAILED, info, step="BUILD", log_url="javascript:alert(1)")
    html = render(context(good, info, None, hostname="h"), style("html")).body
    assert '<a href="https://logs.example.com/a_b?x=1&amp;y=%282%29">log</a>' in html
    assert 'href="https://us-east-1.console.aws.amazon.com/braket/' in html
    markdown = render(context(good, info, None, hostname="h"), style("markdown")).body
    assert "[log](<https://logs.example.com/a_b?x=1&y=%282%29>)" in markdown
    slack = render(context(good, info, None, hostname="h"), style("slack")).body
    assert "<https://logs.example.com/a_b?x=1&y=%282%29|log>" in slack
    for fmt in FORMATS:
        body = render(context(evil, info, None, hostname="h"), style(fmt)).body
        assert "javascript" not in body
    assert safe_url("https://ok.example.com/p q") == "https://ok.example.com/p%20q"
    assert safe_url("ftp://x/") is None and safe_url("https://") is None


def test_user_templates_see_the_fields_escaped_for_the_format() -> None:
    info = job(HOSTILE)
    ev = event(EventKind.PHASE, info, "running", "failed")
    fields = context(ev, info, snap(Phase.FAILED, "FAILED"), hostname="h")
    custom = style(
        "html", title="{{ job_name }} is {{ phase }}", body="<b>{{ job_name }}</b> {{ link(console_url, 'x') }}"
    )
    message = render(fields, custom)
    assert message.title == f"{HOSTILE} is failed"
    assert message.body.startswith("<b>&lt;img src=x onerror=alert(1)&gt; *bold* @channel</b> ")


def test_a_failing_or_escaping_user_template_falls_back_to_the_default() -> None:
    info = job("etl")
    fields = context(event(EventKind.PHASE, info, "running", "failed"), info, None, hostname="h")
    default = render(fields, style("text"))
    for body in ("{{ 1 / 0 }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ job.params.update({}) }}"):
        assert render(fields, style("text", body=body)) == default


def test_a_digest_lists_every_event_with_the_worst_type() -> None:
    items = []
    for name, new in (("alpha", "succeeded"), ("beta", "failed"), ("<gamma>", "running")):
        info = job(name)
        items.append(context(event(EventKind.PHASE, info, "queued", new), info, None, hostname="h"))
    for fmt in FORMATS:
        message = render_digest(items, style(fmt), hostname="h")
        assert isinstance(message, Message) and message.notify_type == "failure"
        assert "3 notifications" in message.title and "1 failure, 1 success, 1 info" in message.title
        seen = visible(fmt, message.body)
        assert all(name in seen for name in ("alpha", "beta", "<gamma>"))


def test_duration_uses_the_event_time_while_running() -> None:
    info = job("t")
    running = snap(Phase.RUNNING, "IN_PROGRESS", started_at=T0 - timedelta(hours=2, minutes=5))
    fields = context(event(EventKind.STUCK, info, None, "running", seconds=3600), info, running, hostname="h")
    assert fields["duration"] == "2h05m" and fields["stuck_for"] == "1h00m"


def test_preview_renders_every_example_in_every_format() -> None:
    from watcher.notify.preview import examples, preview

    names = [info.display_name for _, info, _ in examples()]
    for fmt in FORMATS:
        messages = preview(fmt)
        assert [m.notify_type for m in messages] == ["failure", "failure", "success", "warning"]
        for name, message in zip(names, messages, strict=True):
            assert name in visible(fmt, message.body)
    slack = preview("slack")[0].body
    assert "WAITING_FOR_PRIORITY" in slack  # a marker inside a word cannot format anything: left alone
