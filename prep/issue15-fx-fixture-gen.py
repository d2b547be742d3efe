import datetime as dt
HEADER = "Date,USD,JPY,BGN,CYP,CZK,DKK,EEK,GBP,HUF,LTL,LVL,MTL,PLN,ROL,RON,SEK,SIT,SKK,CHF,ISK,NOK,HRK,RUB,TRL,TRY,AUD,BRL,CAD,CNY,HKD,IDR,ILS,INR,KRW,MXN,MYR,NZD,PHP,SGD,THB,ZAR"
cols = HEADER.split(",")[1:]
gone = {"CYP", "EEK", "LTL", "LVL", "MTL", "ROL", "SIT", "SKK", "TRL", "HRK", "RUB"}
base = {"JPY": (181.2, 2), "BGN": (1.9558, 4), "CZK": (24.31, 3), "DKK": (7.4689, 4), "HUF": (386.4, 2),
        "PLN": (4.2215, 4), "RON": (5.0912, 4), "SEK": (10.917, 4), "CHF": (0.9352, 4), "ISK": (147.9, 1),
        "NOK": (11.792, 4), "TRY": (49.873, 4), "AUD": (1.7612, 4), "BRL": (6.2876, 4), "CAD": (1.6213, 4),
        "CNY": (8.2731, 4), "HKD": (9.1462, 4), "IDR": (19512.4, 2), "ILS": (3.8127, 4), "INR": (104.6215, 4),
        "KRW": (1712.35, 2), "MXN": (21.3874, 4), "MYR": (4.8265, 4), "NZD": (2.0312, 4), "PHP": (68.812, 3),
        "SGD": (1.5164, 4), "THB": (37.312, 3), "ZAR": (19.8841, 4)}
fixed = {"2025-12-15": ("1.174", "0.878"), "2025-12-31": ("1.176", "0.875"),
         "2026-01-15": ("1.173", "0.8625"), "2026-01-30": ("1.188", "0.864")}
holidays = {"2025-12-25", "2025-12-26", "2026-01-01"}  # TARGET closing days in the range
def fmt(x, nd):
    s = f"{x:.{nd}f}".rstrip("0").rstrip(".")
    return s
rows = []
d = dt.date(2025, 12, 1)
i = 0
while d <= dt.date(2026, 2, 27):
    ds = d.isoformat()
    if d.weekday() < 5 and ds not in holidays:
        i += 1
        wiggle = ((i * 37) % 11 - 5) / 1000  # deterministic small daily move
        usd, gbp = fixed.get(ds, (fmt(1.17 + wiggle * 2, 4), fmt(0.87 + wiggle, 5)))
        cells = []
        for c in cols:
            if c == "USD": cells.append(usd)
            elif c == "GBP": cells.append(gbp)
            elif c in gone or (c == "BGN" and d.year >= 2026): cells.append("N/A")
            elif c == "BGN": cells.append("1.9558")
            else:
                v, nd = base[c]; cells.append(fmt(v * (1 + wiggle), nd))
        rows.append((ds, cells))
    d += dt.timedelta(days=1)
rows.sort(reverse=True)
def write(name, keep):
    with open(f"/work/wt-stripe-prep/tests/fixtures/fx/{name}", "w", newline="") as f:
        f.write(HEADER + ",\n")
        for ds, cells in rows:
            if keep(ds):
                f.write(ds + "," + ",".join(cells) + ",\n")
write("eurofxref-hist.csv", lambda ds: True)
write("eurofxref-hist-from-2026-01-02.csv", lambda ds: ds >= "2026-01-02")
print(len(rows))
