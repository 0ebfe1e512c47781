"""The federation's rules, standard library (and PyYAML) only: the kind table, ownership, the
policy file, backend choices and what a repo is. The template hooks run this layer under
plain cookiecutter, so nothing here may import Feast."""
