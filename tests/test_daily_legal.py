"""A document the daily run validates is a legal record like any other: it
keeps the VAT rate and currency it took from the settings."""
import yaml

from test_daily_support import base_files, facturier, recurrence

TEMPLATE = """\
kind: invoice
customer: acme
date: 2025-01-05
lines:
  - {description: "Hosting {period}", quantity: 1, unit_price: "100.00"}
"""


def test_generated_and_validated_documents_freeze_settings_defaults(make_book):
    files = base_files()
    files["facturier.yaml"] += 'vat: "8.1"\n'
    files["documents/2025/01/inv-tpl.yaml"] = TEMPLATE
    files["recurrences/hosting.yaml"] = recurrence(issue="validate", last="2025-01-01")
    root = make_book(files)
    result = facturier(root, "--as-of", "2025-02-01", "run", "--no-send")
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load((root / "documents/2025/02/hosting-2025-02-01.yaml").read_text())
    assert data["number"] and data["currency"] == "CHF"
    assert data["lines"][0]["vat"] == "8.1"
    (root / "facturier.yaml").write_text((root / "facturier.yaml").read_text().replace(
        'vat: "8.1"', 'vat: "20"'))
    status = facturier(root, "--as-of", "2025-02-01", "status", "--format", "json")
    [row] = [r for r in yaml.safe_load(status.stdout) if r["id"] == "hosting-2025-02-01"]
    assert row["total"] == "108.10"
