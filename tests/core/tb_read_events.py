#!/usr/bin/env python3
"""Reads a directory of TensorBoard event files with TensorBoard's own reader and prints JSON.

Used by tests/core/tensorboard_reader_test.cpp on files that rlpp wrote. Two views:
  "records":   every Event of each file in order, from tensorboard's EventFileLoader (the TFRecord
               reader that checks the length and data CRCs), as {wall_time, step, file_version,
               values: [[tag, simple_value], ...]}
  "truncated": the files in which the loader met a torn or corrupt record (it logs that at debug
               level and stops reading the file)
  "scalars":   what TensorBoard's scalar dashboard gets: EventAccumulator over the whole directory
               (all files, with its purge of orphaned steps), as {tag: [[step, wall_time, value]]}
Usage: tb_read_events.py DIR
"""
import json
import logging
import os
import sys

from tensorboard.backend.event_processing import event_accumulator, event_file_loader


class TruncationLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.files = []

    def emit(self, record):
        if record.getMessage().startswith("Truncated record in "):
            self.files.append(os.path.basename(str(record.args[0])))


def main():
    run_dir = sys.argv[1]
    truncations = TruncationLog()
    loader_log = logging.getLogger("tensorboard")  # tensorboard.util.tb_logging's logger
    loader_log.setLevel(logging.DEBUG)
    loader_log.addHandler(truncations)
    loader_log.propagate = False
    files = sorted(f for f in os.listdir(run_dir) if f.startswith("events.out.tfevents."))
    records = {}
    for name in files:
        out = []
        for ev in event_file_loader.LegacyEventFileLoader(os.path.join(run_dir, name)).Load():
            kind = ev.WhichOneof("what")
            out.append({
                "wall_time": ev.wall_time, "step": ev.step,
                "file_version": ev.file_version if kind == "file_version" else None,
                "values": [[v.tag, v.simple_value] for v in ev.summary.value] if kind == "summary" else None,
            })
        records[name] = out
    acc = event_accumulator.EventAccumulator(run_dir, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    scalars = {tag: [[s.step, s.wall_time, s.value] for s in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    json.dump({"files": files, "records": records, "truncated": sorted(set(truncations.files)),
               "scalars": scalars}, sys.stdout)


if __name__ == "__main__":
    main()
