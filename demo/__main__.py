"""`make demo`: run the main job on the embedded SQLite default, through the real CLI.

It runs on its own ./demo.db, never ./flowengine.db or the database a
flowengine.toml names; with FLOWENGINE_DEMO_DATABASE_URL set, it runs on that
(empty) database instead.

Every step is a real `flowengine` process, exactly what an operator would type:
a fresh ./demo.db, the people of the charts, then realistic cases of
Bizim Masa, the press unit (with its Sosyal Medya child), and İdari İşler.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOWENGINE = [sys.executable, "-m", "flowengine"]

DEMO_DB = "demo.db"  # in the repository's folder, ignored by git
DEMO_PASSWORD = "ayvalik-demo-2026"  # noqa: S105 - the demo's own, printed for trying the inbox

# person ids
MASA = "serkan.kibar"  # Bizim Masa
MUDUR = "arda.bayri"  # Müdür V.
BASKAN_YRD = "erkan.karasu"  # Başkan Yardımcısı
BASKAN = "mesut.ergin"  # Belediye Başkanı
FEN = "hakan.ozturk"  # Fen İşleri Müdürlüğü
BASIN = "elif.yildiz"  # Basın Yayın Tanıtım Birimi
SOSYAL = "deniz.acar"  # Sosyal Medya Birimi
IDARI = "ayse.demir"  # İdari İşler Birimi
SATIN_ALMA = "murat.kaya"  # Destek Hizmetleri, Satın Alma
KOMISYON = "zeynep.sahin"  # Muayene ve Kabul Komisyonu
TASINIR_KAYIT = "emre.celik"  # Taşınır Kayıt Yetkilisi
TASINIR_KONTROL = "fatma.aydin"  # Taşınır Kontrol Yetkilisi


# FLOWENGINE_DEMO_IN_PROCESS=1 (the test suite) runs each command through the
# same entry point, flowengine.cli.main, in this process instead of a new one:
# the output and exit codes are the same (tests/cli/test_entry_point.py checks
# that), and the suite then starts two processes for the demo instead of 150.
IN_PROCESS = os.environ.get("FLOWENGINE_DEMO_IN_PROCESS") == "1"


def flowengine(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """One `flowengine ARGS` command: its exit code, stdout and stderr."""
    if not IN_PROCESS:
        return subprocess.run(
            [*FLOWENGINE, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            input=stdin,
            env={**os.environ, "COLUMNS": "110"},
            check=False,
        )
    from typer.testing import CliRunner

    from flowengine.cli import main

    code: int = 0
    saved = sys.argv
    with CliRunner().isolation(input=stdin, env={"COLUMNS": "110"}) as (out, err, _):
        sys.argv = ["flowengine", *args]
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
            if isinstance(exit_.code, str):
                print(exit_.code, file=sys.stderr)
        finally:
            sys.argv = saved
            sys.stdout.flush()
            sys.stderr.flush()
        stdout = out.getvalue().decode("utf-8")
        stderr = err.getvalue().decode("utf-8", errors="backslashreplace")
    return subprocess.CompletedProcess(["flowengine", *args], code, stdout, stderr)


def run(*args: str, check: bool = True, stdin: str | None = None) -> str:
    """Run one CLI command, echoing it as a user would type it."""
    print(f"\n$ flowengine {shlex.join(args)}", flush=True)
    result = flowengine(list(args), stdin)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sys.stdout.flush()
    if check and result.returncode != 0:
        sys.exit(f"demo step failed with exit code {result.returncode}")
    return result.stdout


def sets(**values: str) -> list[str]:
    """``--set KEY=VALUE`` pairs."""
    out: list[str] = []
    for key, value in values.items():
        out += ["--set", f"{key}={value}"]
    return out


def start(flow: str, person: str, **values: str) -> str:
    """Start an instance and return its reference number (printed on stdout)."""
    ref = run("start", flow, "--as", person, *sets(**values)).strip().splitlines()[-1].strip()
    if not ref:
        sys.exit(f"demo: 'start {flow}' printed no reference number")
    return ref


def fire(ref: str, event: str, person: str, comment: str | None = None, **values: str) -> None:
    extra = ["--comment", comment] if comment else []
    run("fire", ref, event, "--as", person, *sets(**values), *extra)


def section(title: str) -> None:
    print(f"\n{'=' * 8} {title} {'=' * (90 - len(title))}", flush=True)


def fresh_database() -> None:
    section("1. Temiz veritabanı, akışların doğrulanması")
    if os.environ.get("FLOWENGINE_DEMO_DATABASE_URL"):
        # a database given by the caller (the tests run the demo on PostgreSQL too)
        url = os.environ["FLOWENGINE_DEMO_DATABASE_URL"]
        print(f"database: FLOWENGINE_DEMO_DATABASE_URL ({url[:20]}…)")
    else:
        # its own file, never ./flowengine.db or the database flowengine.toml names:
        # the demo deletes what it starts from and gives its people a public password
        for name in (DEMO_DB, f"{DEMO_DB}-wal", f"{DEMO_DB}-shm"):
            (ROOT / name).unlink(missing_ok=True)
        url = f"sqlite:///{DEMO_DB}"
        print(f"database: {DEMO_DB} (the demo's own; --db sqlite:///{DEMO_DB} to look at it)")
    # every command below takes it (the variable wins over flowengine.toml)
    os.environ["FLOWENGINE_DATABASE_URL"] = url
    run("validate", "flows/")
    run("db", "upgrade")


def add_people() -> None:
    section("2. Kişiler ve rolleri")
    people = [
        (MASA, "Serkan KİBAR", ["bizim_masa", "sozlesmeli_memur"]),
        (MUDUR, "Arda BAYRİ", ["mudur"]),
        (BASKAN_YRD, "Erkan KARASU", ["baskan_yardimcisi"]),
        (BASKAN, "Mesut ERGİN", ["baskan"]),
        (FEN, "Hakan ÖZTÜRK", ["ilgili_mudurluk:fen_isleri"]),
        (BASIN, "Elif YILDIZ", ["basin_yayin_tanitim"]),
        (SOSYAL, "Deniz ACAR", ["sosyal_medya"]),
        (IDARI, "Ayşe DEMİR", ["idari_isler", "memur"]),
        (SATIN_ALMA, "Murat KAYA", ["satin_alma"]),
        (KOMISYON, "Zeynep ŞAHİN", ["muayene_kabul_komisyonu"]),
        (TASINIR_KAYIT, "Emre ÇELİK", ["tasinir_kayit_yetkilisi"]),
        (TASINIR_KONTROL, "Fatma AYDIN", ["tasinir_kontrol_yetkilisi"]),
    ]
    for person_id, name, roles in people:
        role_args: list[str] = []
        for role in roles:
            role_args += ["--role", role]
        run("people", "add", person_id, "--name", name, *role_args)
    run("people", "list")


def bizim_masa_resolved() -> str:
    section("3a. Bizim Masa: WhatsApp'tan sokak lambası şikâyeti → Fen İşleri → çözüldü")
    ref = start(
        "bizim_masa",
        MASA,
        kanal="whatsapp",
        basvuru_turu="sikayet",
        ad_soyad="Mehmet YILMAZ",
        telefon="0532 555 12 34",
        mahalle="Sakarya Mahallesi",
        konum="Atatürk Caddesi, 14 numara önü",
        konu="Sokak lambası yanmıyor",
        metin="Sakarya Mahallesi Atatürk Caddesi'ndeki sokak lambası bir haftadır yanmıyor, "
        "akşamları sokak karanlık kalıyor.",
    )
    fire(ref, "havale_et", MASA, mudurluk="fen_isleri")
    fire(
        ref,
        "cevap_ver",
        FEN,
        mudurluk_cevabi="Ekiplerimizce arızalı armatür 12.03 tarihinde değiştirilmiştir.",
    )
    fire(
        ref,
        "geri_donus_yap",
        MASA,
        vatandasa_cevap="Sayın Mehmet YILMAZ, bildirdiğiniz sokak lambası Fen İşleri "
        "Müdürlüğümüzce onarılmıştır. İlginiz için teşekkür ederiz.",
    )
    return ref


def bizim_masa_redirected() -> str:
    section("3b. Bizim Masa: çağrı merkezinden su kesintisi talebi → BASKİ'ye yönlendirildi")
    ref = start(
        "bizim_masa",
        MASA,
        kanal="cagri_merkezi",
        basvuru_turu="talep",
        ad_soyad="Gülsüm KOÇ",
        telefon="0266 312 00 00",
        mahalle="Cunda (Alibey Adası)",
        konu="Sık sık yaşanan su kesintileri",
        metin="Mahallemizde son iki haftadır her gün saatlerce su kesiliyor, "
        "kesintilerin sebebini ve ne zaman düzeleceğini öğrenmek istiyorum.",
    )
    fire(ref, "kurum_disi", MASA)
    fire(
        ref,
        "yonlendirildi",
        MASA,
        dis_kurum="baski",
        vatandasa_cevap="Sayın Gülsüm KOÇ, içme suyu şebekesi Balıkesir Su ve Kanalizasyon "
        "İdaresi'nin (BASKİ) sorumluluğundadır. Başvurunuzu ALO 185 hattına ya da BASKİ "
        "Ayvalık şubesine iletmenizi rica ederiz.",
    )
    return ref


def basin_yayin() -> tuple[str, str]:
    section("3c. Basın Yayın: basın bülteni, Başkan bir kez reddeder, düzeltilip yayınlanır")
    ref = start(
        "basin_yayin",
        BASIN,
        kaynak="mudurlukler",
        talep_eden_mudurluk="park_ve_bahceler",
        baslik="Sarımsaklı sahil parkı yenilendi",
        etkinlik_yeri="Sarımsaklı",
        aciklama="Park ve Bahçeler Müdürlüğünün sahil parkı yenileme çalışması.",
    )
    fire(ref, "planla", BASIN)
    fire(ref, "kaydedildi", BASIN, oncesi_kayitlar="[park_oncesi_1.jpg, park_oncesi_2.jpg]")
    fire(ref, "kaydedildi", BASIN, sonrasi_kayitlar="[park_sonrasi_1.jpg, park_sonrasi.mp4]")
    # hazirlik: three parallel branches
    fire(ref, "tamamlandi", BASIN, montaj_videosu="park_montaj.mp4")
    fire(ref, "tamamlandi", BASIN, gorseller="[park_afis.jpg, park_post.jpg]")
    fire(
        ref,
        "tamamlandi",
        BASIN,
        haber_metni="Sarımsaklı sahil parkı yenilendi: yeni oyun alanları ve yürüyüş yolu.",
    )
    fire(ref, "approve", MUDUR)
    fire(ref, "reject", BASKAN, comment="Haber metninde parkın açılış tarihi eksik.")
    # back in hazirlik: every branch tasks again
    run("status", ref, "--as", BASIN)
    fire(ref, "gerek_yok", BASIN)
    fire(ref, "tamamlandi", BASIN, gorseller="[park_afis_v2.jpg, park_post_v2.jpg]")
    fire(
        ref,
        "tamamlandi",
        BASIN,
        haber_metni="Sarımsaklı sahil parkı yenilendi ve 1 Haziran'da hizmete açılıyor: "
        "yeni oyun alanları, yürüyüş yolu ve aydınlatma.",
    )
    fire(ref, "approve", MUDUR)
    fire(ref, "approve", BASKAN)
    fire(ref, "paylasildi", BASIN, platformlar="[billboard, dergi]")
    run("status", ref, "--as", BASIN)

    section("3c. Sosyal Medya: basın biriminden gelen alt iş kaydı yayınlanır")
    children = json.loads(run("instances", "--flow", "sosyal_medya", "--json"))
    # `instances --json` carries no data: the child is the one still active
    child = next((c["reference"] for c in children if c["status"] == "active"), "")
    if not child:
        sys.exit("demo: basin_yayin started no sosyal_medya instance")
    fire(
        child,
        "hazirlandi",
        SOSYAL,
        paylasim_metni="🌳 Sarımsaklı sahil parkımız yenilendi! 1 Haziran'da sizlerle. #Ayvalık",
        paylasim_gorselleri="[park_post_v2.jpg]",
    )
    fire(child, "approve", MUDUR)
    fire(child, "approve", BASKAN)
    run("status", child, "--as", SOSYAL)
    return ref, child


def idari_isler() -> str:
    section("3d. İdari İşler: satın alma (dayanıklı taşınır, kayıt ve kontrol ile)")
    ref = start(
        "idari_isler",
        IDARI,
        is_turu="satin_alma",
        konu="Basın birimi için fotoğraf makinesi alımı",
    )
    fire(
        ref,
        "hazirlandi",
        IDARI,
        ihtiyac_aciklamasi="Etkinlik çekimleri için aynasız fotoğraf makinesi ve objektif.",
        miktar="1",
    )
    fire(
        ref,
        "tamamlandi",
        IDARI,
        piyasa_arastirma_tutanagi="piyasa_arastirmasi_2025_03.pdf",
        yaklasik_maliyet="85000",
    )
    fire(ref, "approve", MUDUR)
    fire(ref, "siparis_verildi", SATIN_ALMA, tedarikci="Ayvalık Fotoğrafçılık Ltd. Şti.")
    fire(
        ref,
        "kabul_edildi",
        KOMISYON,
        muayene_kabul_tutanagi="muayene_kabul_2025_04.pdf",
        dayanikli="true",
    )
    fire(
        ref,
        "kaydedildi",
        TASINIR_KAYIT,
        tasinir_adi="Fotoğraf makinesi",
        tasinir_kodu="253.02.01",
    )
    fire(ref, "uygun", TASINIR_KONTROL)
    fire(ref, "duzenlendi", TASINIR_KAYIT, tasinir_islem_fisi_no="TIF-2025-0042")
    run("status", ref, "--as", IDARI)
    return ref


def look_around(case_a: str) -> str:
    section("4. Gelen kutusu, durum, geçmiş")
    open_ref = start(
        "bizim_masa",
        MASA,
        kanal="yuz_yuze",
        aracilik="muhtarlik",
        basvuru_turu="oneri",
        ad_soyad="Hasan ARSLAN",
        telefon="0543 210 98 76",
        mahalle="Ali Çetinkaya Mahallesi",
        konu="Parka bank konulması önerisi",
        metin="Mahalle parkına yaşlılar için gölgelik ve bank konulmasını öneriyorum.",
    )
    fire(open_ref, "havale_et", MASA, mudurluk="fen_isleri")
    run("tasks", "--as", FEN)
    run("status", open_ref, "--as", MASA)
    run("status", open_ref, "--as", FEN)
    run("history", case_a, "--as", MASA)
    run("instances")
    return open_ref


def deliver_and_audit() -> None:
    section("5. Zamanlayıcılar, giden kutusu, denetim zinciri")
    run("timers")
    run("tick")  # in-app notices are delivered; e-mail waits for an SMTP server (retried)
    run("outbox")
    run("notifications", "--as", FEN)
    run("audit", "verify", "--all")
    run("audit", "replay", "--all")


def web_face(open_ref: str) -> None:
    section("6. Web: Open311 ile gelen başvuru, REST API, vatandaşın durum sayfası")
    import httpx  # the webhook connector's HTTP client, already installed

    for person in (MASA, FEN):
        run("people", "set-password", person, "--password-stdin", stdin=f"{DEMO_PASSWORD}\n")
    run("people", "add", "ayvalik.cepte", "--name", "Ayvalık Cepte (mobil uygulama)",
        "--role", "open311_istemcisi")  # fmt: skip
    app_token = run("tokens", "create", "--as", "ayvalik.cepte", "--name", "Ayvalık Cepte").strip()
    desk_token = run("tokens", "create", "--as", MASA, "--name", "masa betiği").strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"\n$ flowengine serve --port {port} &", flush=True)
    server = subprocess.Popen([*FLOWENGINE, "serve", "--port", str(port)], cwd=ROOT)
    try:
        wait_until_up(url)
        print(f"\n$ curl -X POST {url}/open311/v2/requests.json -d service_code=sikayet …")
        created = httpx.post(
            f"{url}/open311/v2/requests.json",
            data={
                "api_key": app_token,
                "service_code": "sikayet",
                "description": "Cunda sahil yolunda kaldırım taşları kırık.\n"
                "Yaşlılar ve bebek arabaları geçemiyor.",
                "first_name": "Nurcan",
                "last_name": "Özdemir",
                "phone": "0535 246 80 12",
                "address_string": "Cunda sahil yolu, Ayvalık",
            },
        ).json()[0]
        print(json.dumps(created, ensure_ascii=False, indent=2))
        reference = created["service_request_id"]
        print(f"\n$ curl -H 'Authorization: Bearer …' {url}/api/v1/tasks")
        tasks = httpx.get(f"{url}/api/v1/tasks", headers={"Authorization": f"Bearer {desk_token}"})
        for item in tasks.json()["items"]:
            mark = " ← Open311" if item["reference"] == reference else ""
            print(f"  {item['reference']}  {item['title']}{mark}")
        fen_token = run("tokens", "create", "--as", FEN, "--name", "fen betiği").strip()
        print(f"\n$ curl {url}/api/v1/instances/{open_ref} (Fen İşleri'nin gözüyle)")
        seen = httpx.get(
            f"{url}/api/v1/instances/{open_ref}", headers={"Authorization": f"Bearer {fen_token}"}
        )
        masked = seen.json()["data"]["ad_soyad"]
        print(f"  ETag {seen.headers['ETag']}; kişisel veri: ad_soyad={masked}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    print("\nTarayıcıda denemek için:")
    print("  .venv/bin/flowengine serve --port 8000")
    print(f"  http://127.0.0.1:8000/  ({MASA} ya da {FEN}, parola: {DEMO_PASSWORD})")
    print(f"  http://127.0.0.1:8000/durum  ({reference}, telefonun son dört hanesi: 8012)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # not listening yet
    sys.exit("demo: flowengine serve did not start within 30 seconds")


def main() -> None:
    fresh_database()
    add_people()
    case_a = bizim_masa_resolved()
    bizim_masa_redirected()
    basin_yayin()
    idari_isler()
    open_ref = look_around(case_a)
    deliver_and_audit()
    web_face(open_ref)
    print("\nDemo bitti. Şunları deneyin:")
    print(f"  export FLOWENGINE_DATABASE_URL=sqlite:///{DEMO_DB}")
    print(f"  .venv/bin/flowengine tasks --as {FEN}")
    print(f"  .venv/bin/flowengine status {open_ref} --as {MASA}")
    print(f"  .venv/bin/flowengine fire {open_ref} cevap_ver --as {FEN} --set 'mudurluk_cevabi=…'")
    print(f"  .venv/bin/flowengine history {case_a} --as {MASA}")
    print("  .venv/bin/flowengine instances --flow sosyal_medya")
    print(f"  .venv/bin/flowengine personal-data export {case_a} --as {MASA}")
    print("  .venv/bin/flowengine audit checkpoint -o heads.json")
    print("  .venv/bin/flowengine show basin_yayin")
    print("  .venv/bin/flowengine graph idari_isler --format mermaid")


if __name__ == "__main__":
    main()
