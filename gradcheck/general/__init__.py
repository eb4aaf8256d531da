"""Any scalar function's gradient checked entry by entry (``gradcheck.check``, ``gradcheck.assert_gradient``).

``params`` flattens and names parameter structures, ``check`` adapts any f to the black-box
full check of :mod:`gradcheck.largescale.full`, ``report`` is its result (:class:`GradientReport`).
"""
