"""Procedures (TTHC) by level, their fees, and the online payment providers.

Amounts are typical Vietnamese fees in VND (integers). Some procedures are free (birth and
marriage registration at the commune): their dossiers carry zero-fee payments, which Decision
766 leaves out of the dossier share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from models.registry_rows import Level

__all__ = ["OFFLINE_CHANNELS", "ONLINE_CHANNELS", "PROVIDERS", "Procedure", "procedures_for"]


@dataclass(frozen=True, slots=True)
class Procedure:
    """A fee-bearing procedure: its code, its fee type and the amounts a dossier may pay."""

    code: str
    fee_type: str  # "phi" or "le_phi"
    amounts: tuple[int, ...]
    weight: float


_COMMUNE: Final = (
    Procedure("1.001612", "le_phi", (2_000, 4_000, 6_000, 10_000, 20_000), 5.0),  # chứng thực
    Procedure("1.003583", "le_phi", (5_000, 8_000), 1.0),  # trích lục hộ tịch
    Procedure("1.004873", "le_phi", (0,), 1.5),  # đăng ký khai sinh (free)
    Procedure("1.000894", "le_phi", (0,), 0.6),  # đăng ký kết hôn (free)
    Procedure("2.000635", "phi", (10_000, 15_000, 30_000), 0.8),  # xác nhận, sao y
)
_DISTRICT: Final = (
    Procedure("1.001266", "le_phi", (100_000,), 2.0),  # đăng ký hộ kinh doanh
    Procedure("1.009994", "le_phi", (75_000, 150_000), 1.5),  # giấy phép xây dựng
    Procedure("1.003002", "phi", (100_000, 300_000, 500_000), 2.0),  # chứng nhận QSDĐ (phí)
    Procedure("2.000908", "le_phi", (0,), 0.4),  # thay đổi hộ tịch (free)
    Procedure("1.000775", "phi", (50_000, 200_000), 0.8),  # giấy phép kinh doanh rượu
)
_DEPARTMENT: Final = (
    Procedure("1.002804", "le_phi", (135_000,), 3.0),  # cấp đổi giấy phép lái xe
    Procedure("2.001610", "le_phi", (50_000, 100_000), 2.0),  # đăng ký doanh nghiệp
    Procedure("1.004227", "phi", (500_000, 1_500_000, 3_000_000), 1.0),  # thẩm định dự án
    Procedure("1.001142", "phi", (200_000, 800_000, 2_500_000), 1.2),  # đất đai, môi trường
    Procedure("1.000302", "phi", (20_000_000, 45_000_000), 0.1),  # thẩm định ĐTM lớn
    Procedure("2.000044", "le_phi", (0,), 0.3),  # free certificate
)


def procedures_for(level: Level) -> tuple[Procedure, ...]:
    if level is Level.COMMUNE:
        return _COMMUNE
    if level is Level.DISTRICT:
        return _DISTRICT
    return _DEPARTMENT


#: Online providers through the payment platform (PayGov) with their relative shares.
PROVIDERS: Final = (
    ("VNPAY", 0.34),
    ("NAPAS", 0.18),
    ("VIETTEL_MONEY", 0.14),
    ("VIETINBANK", 0.1),
    ("VIETCOMBANK", 0.08),
    ("BIDV", 0.07),
    ("AGRIBANK", 0.06),
    ("MOMO", 0.03),
)
ONLINE_CHANNELS: Final = (("online_portal", 0.7), ("online_gateway", 0.3))
OFFLINE_CHANNELS: Final = (
    ("offline_cash", 0.5),
    ("offline_counter", 0.32),
    ("offline_transfer", 0.18),
)
