"""The interface's words in Turkish (the default) and English; dates in the municipality's zone.

Flow, state and event titles come from the flow files and are Turkish; only
the interface around them is translated here.
"""

from __future__ import annotations

from datetime import datetime

from flowengine.config import local_zone
from flowengine.durations import DEFAULT_TIMEZONE

LANGUAGES = ("tr", "en")
DEFAULT = "tr"

WORDS: dict[str, tuple[str, str]] = {
    "app": ("İş Akışları", "Workflows"),
    "login": ("Giriş", "Log in"),
    "logout": ("Çıkış", "Log out"),
    "person": ("Kullanıcı adı", "User name"),
    "password": ("Parola", "Password"),
    "inbox": ("Gelen kutusu", "Inbox"),
    "no_tasks": ("Bekleyen işiniz yok.", "You have no open work."),
    "reference": ("Referans", "Reference"),
    "flow": ("Akış", "Flow"),
    "step": ("Adım", "Step"),
    "role": ("Rol", "Role"),
    "opened": ("Geliş", "Arrived"),
    "due": ("Son gün", "Due"),
    "overdue": ("Süresi geçti", "Overdue"),
    "new_request": ("Yeni başvuru", "New request"),
    "start": ("Başlat", "Start"),
    "notifications": ("Bildirimler", "Notifications"),
    "case": ("Dosya", "Case"),
    "status": ("Durum", "Status"),
    "data": ("Bilgiler", "Data"),
    "masked_note": (
        "*** ile gösterilen kişisel veriler rolünüze kapalıdır (KVKK).",
        "Personal data shown as *** is not open to your role (KVKK).",
    ),
    "history": ("Tarihçe", "History"),
    "diagram": ("Akış şeması", "Flow diagram"),
    "current_step": ("Şu anki adım", "Current step"),
    "actions": ("Yapabilecekleriniz", "What you can do"),
    "no_actions": (
        "Bu dosyada şu an yapabileceğiniz bir işlem yok.",
        "Nothing for you to do here now.",
    ),
    "comment": ("Açıklama", "Comment"),
    "reason": ("Gerekçe", "Reason"),
    "required": ("zorunlu", "required"),
    "choose": ("Seçiniz", "Choose"),
    "active": ("İşlemde", "In progress"),
    "completed": ("Sonuçlandı", "Completed"),
    "cancelled": ("İptal edildi", "Cancelled"),
    "merged": ("Birleştirildi", "Merged"),
    "done": ("İşlem kaydedildi", "Saved"),
    "started": ("Başvuru kaydedildi", "Request recorded"),
    "language": ("English", "Türkçe"),
    "durum_title": ("Başvuru durumu sorgulama", "Request status"),
    "durum_help": (
        "Başvurunuzun referans numarasını ve alındı belgesindeki durum sorgulama kodunu "
        "ya da başvuruda verdiğiniz telefon numarasının son dört hanesini giriniz.",
        "Enter your request's reference number and the status code on your receipt, "
        "or the last four digits of the phone number you gave.",
    ),
    "second_factor": (
        "Durum kodu ya da telefonun son 4 hanesi",
        "Status code or last 4 digits of your phone",
    ),
    "query": ("Sorgula", "Look up"),
    "status_code": ("Durum sorgulama kodu", "Status code"),
    "too_many": (
        "Çok fazla hatalı deneme yapıldı; {minutes} dakika sonra yeniden deneyiniz.",
        "Too many failed attempts; try again in {minutes} minutes.",
    ),
    "csrf": (
        "Formun güvenlik anahtarı eksik ya da eski; sayfayı yenileyip yeniden gönderiniz.",
        "The form's security token is missing or stale; reload the page and send it again.",
    ),
    "stale": (
        "Siz sayfayı açtıktan sonra dosya {who} tarafından değiştirildi ({at}); hiçbir şey "
        "kaydedilmedi. Sayfayı yenileyip yeniden deneyiniz.",
        "{who} changed the case after you opened it ({at}); nothing was saved. Reload the "
        "page and try again.",
    ),
    "invalid": ("Eksik ya da hatalı bilgi — {fields}", "Missing or invalid — {fields}"),
    "not_possible": (
        "Bu işlem dosyanın şu anki adımında yapılamaz; sayfayı yenileyiniz.",
        "This cannot be done at the case's current step; reload the page.",
    ),
    "forbidden": (
        "Bu işlem ya da dosya için yetkiniz yok.",
        "Your roles do not allow this, or this case.",
    ),
    "wrong_login": ("Kullanıcı adı ya da parola yanlış.", "Wrong user name or password."),
    "no_match": (
        "Bu referans numarası ve kodla bir başvuru bulunamadı; ikisini de kontrol edip "
        "yeniden deneyiniz.",
        "No request with that reference number and code; check both and try again.",
    ),
    "received": ("Başvuru tarihi", "Received"),
    "answer_by": ("En geç cevap tarihi", "Answer due by"),
    "replies": ("Size verilen cevaplar", "Replies to you"),
    "no_replies": ("Henüz bir cevap verilmedi.", "No reply yet."),
    "final_reply": ("Cevap", "Reply"),
    "interim_reply": ("Bilgilendirme", "Update"),
}


def word(key: str, language: str) -> str:
    pair = WORDS.get(key)
    if pair is None:
        return key
    return pair[1] if language == "en" else pair[0]


def local_time(moment: datetime | None) -> str:
    """``26.11.2026 14:05`` in the municipality's time (the form both languages read here)."""
    if moment is None:
        return "—"
    return moment.astimezone(local_zone(DEFAULT_TIMEZONE)).strftime("%d.%m.%Y %H:%M")


def local_day(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(local_zone(DEFAULT_TIMEZONE)).strftime("%d.%m.%Y")
