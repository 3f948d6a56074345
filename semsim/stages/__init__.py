"""``semsim compare`` as named stages over one validated options object.

resolve (:mod:`.resolve`: options, collections, encoder, plan; every check, before any image is
read) -> embed (:mod:`.embed`: features, or running summaries + a sample) -> analyse
(:mod:`.analyse`: scores, intervals, floors, matrices) -> enrich (:mod:`.enrich`: evidence,
duplicates, the streaming section) -> write (:mod:`.write`: report.json/md/html, CSVs, PNGs).

Each stage takes and returns plain values and edits nothing it was given;
:func:`semsim.compare.compare` runs them in order, and the training callbacks reuse
:func:`.enrich.evidence_sections` and :func:`.write.write_files`.
"""
