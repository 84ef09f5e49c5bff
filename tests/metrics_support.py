"""Reading GET /metrics in tests: every sample by name and labels, and differences between two
scrapes (the counters are per process and other tests add to them too)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

SampleKey = tuple[str, frozenset[tuple[str, str]]]


def key(name: str, **labels: str) -> SampleKey:
    return name, frozenset(labels.items())


@dataclass(frozen=True)
class Scrape:
    samples: Mapping[SampleKey, float]
    text: str

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get(key(name, **labels), 0.0)

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}

    def minus(self, earlier: Scrape, name: str, **labels: str) -> float:
        return self.value(name, **labels) - earlier.value(name, **labels)


def parse(text: str) -> Scrape:
    samples: dict[SampleKey, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[key(sample.name, **sample.labels)] = sample.value
    return Scrape(samples, text)


def scrape(client: TestClient | httpx.Client, headers: Mapping[str, str] | None = None) -> Scrape:
    response = client.get("/metrics", headers=dict(headers or {}))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)
