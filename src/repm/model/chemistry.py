"""Stoichiometry from the fact table's atomic weights.

Nothing here is a stored constant: molar masses and oxide→metal factors are computed from
CIAAW atomic weights, so tests can check them against hand calculations.
"""

from __future__ import annotations

from dataclasses import dataclass

from repm.model.facts import FactTable, load_facts


@dataclass(frozen=True)
class Chemistry:
    aw: dict[str, float]
    pr_share: float  # Pr share of NdPr by mass

    @classmethod
    def from_facts(cls, facts: FactTable | None = None, pr_share: float | None = None) -> Chemistry:
        facts = facts or load_facts()
        aw = {
            el: facts.value(f"aw_{el.lower()}")
            for el in (
                "Nd",
                "Pr",
                "Dy",
                "Tb",
                "Fe",
                "B",
                "O",
                "Th",
                "U",
                "La",
                "Ce",
                "Sm",
                "Gd",
                "Y",
                "Er",
                "P",
            )
        }
        share = facts.value("ndpr_pr_share_of_metal") if pr_share is None else pr_share
        return cls(aw=aw, pr_share=share)

    def molar_mass(self, formula: dict[str, float]) -> float:
        return sum(self.aw[el] * n for el, n in formula.items())

    def mass_fraction(self, formula: dict[str, float], element: str) -> float:
        return self.aw[element] * formula[element] / self.molar_mass(formula)

    def oxide_per_metal(self, element: str) -> float:
        """kg of the usual oxide per kg of the metal it contains (Nd2O3, Pr6O11, Dy2O3, Tb4O7, ThO2)."""
        formula = OXIDES[element]
        return 1.0 / self.mass_fraction(formula, element)

    @property
    def ndpr_oxide_per_metal(self) -> float:
        """kg NdPr oxide per kg NdPr metal at the model's Nd:Pr split."""
        return (1 - self.pr_share) * self.oxide_per_metal(
            "Nd"
        ) + self.pr_share * self.oxide_per_metal("Pr")

    @property
    def nd_in_nd2fe14b(self) -> float:
        return self.mass_fraction({"Nd": 2, "Fe": 14, "B": 1}, "Nd")

    def ndpr_split(self) -> dict[str, float]:
        return {"Nd": 1 - self.pr_share, "Pr": self.pr_share}


OXIDES: dict[str, dict[str, float]] = {
    "Nd": {"Nd": 2, "O": 3},
    "Pr": {"Pr": 6, "O": 11},
    "Dy": {"Dy": 2, "O": 3},
    "Tb": {"Tb": 4, "O": 7},
    "Th": {"Th": 1, "O": 2},
    "U": {"U": 3, "O": 8},
}
