"""The retained state topics agree when a run ends: camera and heartbeat both offline."""

from __future__ import annotations

import json
import threading

from pipeline.events.status import StatusReporter
from pipeline.events.topics import Topics
from pipeline.frames.types import SourceStats


def test_camera_topic_says_offline_when_the_run_ends() -> None:
    stats = SourceStats(online=True)
    published: dict[str, dict] = {}
    online_seen = threading.Event()

    def publish(topic: str, text: str) -> None:
        published[topic] = json.loads(text)
        if topic.endswith("/camera/entrance") and published[topic]["state"] == "online":
            online_seen.set()

    topics = Topics("checkin/t", "entrance")
    reporter = StatusReporter(topics, "entrance", "t", stats, lambda: {}, publish)
    reporter.start()
    assert online_seen.wait(10)
    stats.online = False  # the source ended; the reporter stops before it would notice
    reporter.stop()
    assert published[topics.camera]["state"] == "offline"
    assert published[topics.status]["camera"] == "offline"
