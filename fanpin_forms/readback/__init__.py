"""Read-back: returned paper (PDFs, scans) → one record per form, and the review queue.

By job, in the order a page goes through them:

* :mod:`.run` — ``parse_inputs``: the batch, the worker pool (:mod:`fanpin_forms.util.parallel`);
* :mod:`.inputs` — files and folders → pages, checked against the caps before decoding;
* :mod:`.page` — one page → a :class:`~.results.PageResult`: :mod:`.identify` (QR code with
  MAC, printed id line, title), then :mod:`.textlayer` (born-digital PDFs) or
  :mod:`.scanpage` (scans: :mod:`.align`, :mod:`.locate`, :mod:`.marks` with the seal rings
  and thumbprint ridges of :mod:`.shapes`, :mod:`.ocr`, :mod:`.datescan` and :mod:`.dates`,
  :mod:`.headerscan`), against the blank of :mod:`.reference` /
  :mod:`.geometry` and the header patterns of :mod:`.fields`;
* :mod:`.assemble` — page results → records (duplicates by ink, missing pages, the
  household-sheet cross-check of :mod:`.datacheck`, review numbering);
* :mod:`.results` — the typed results; :mod:`.records_io` — their JSON Lines form;
* :mod:`.review` — ``review.html`` and applying its corrections;
* :mod:`.setup` — what read-back is given (county, types, forms, the printing functions);
* :mod:`.thresholds` — every recognition threshold, with its unit.

Read-back depends on :mod:`fanpin_forms.pagemark` (the printed-page protocol), never on
``render``, ``cli`` or the application object.
"""
