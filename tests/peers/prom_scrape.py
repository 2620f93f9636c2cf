"""Scrapes a Prometheus /metrics URL and prints every sample as JSON lines, parsed with the
official client's parser (prometheus_client.parser), as a Prometheus server would read it.

Usage: prom_scrape.py URL
Output: first line {"content_type": ...}; then one {"name", "labels", "value"} per sample.
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    with urllib.request.urlopen(sys.argv[1], timeout=60) as resp:
        content_type = resp.headers.get("Content-Type", "")
        text = resp.read().decode("utf-8")
    print(json.dumps({"content_type": content_type}))
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            print(json.dumps({
                "family": family.name,
                "type": family.type,
                "name": s.name,
                "labels": s.labels,
                "value": s.value,
            }))


if __name__ == "__main__":
    main()
