"""Operating the shared store, above the sync: a repo's plan → confirm → apply run
(``runs``), restores from a snapshot or the apply log (``restore``), drift audits
(``audit``), the feature catalog (``catalog``), materialization (``materialize``), adopting
an existing feature repo (``adopt``) and whole orgs at once (``orgs``)."""
