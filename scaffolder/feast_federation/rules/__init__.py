"""The federation's rules, standard library (and PyYAML) only: the kind table, ownership, the
policy file, backend choices, values users type, what a repo is, the platform contract,
references by name and which orgs serve pinned versions, and the offline source check. The
template hooks run this layer under plain cookiecutter, so nothing here may import Feast."""
