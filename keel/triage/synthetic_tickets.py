"""The seeded generator of labelled support tickets, and the shifts it can apply to the ticket mix.

The tickets are synthetic: hand-written phrases per category, combined by a seeded generator with
product names, amounts, error codes and the noise real tickets have (greetings, context, a sentence
about another topic). scripts/generate_ticket_dataset.py writes the committed training set with it;
the same seed always gives the same tickets.

A shift (`SHIFTS`) changes the mix the way a real event changes a helpdesk's inflow: the categories'
proportions move and a share of the tickets speak of things the shipped model never saw. What the
shipped model makes of a shifted set is what the advisor drift watch (functions/advisor_drift_watch)
is there to notice.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

SEED = 20261122
PER_CATEGORY = 110

SLOTS: dict[str, list[str]] = {
    "product": ["Keel Cloud", "the dashboard", "the mobile app", "the API", "the reporting module", "the desktop client"],
    "plan": ["Starter", "Team", "Business", "Enterprise"],
    "amount": ["$49", "$129.00", "$1,200", "EUR 89", "$15", "$310.50", "GBP 240"],
    "month": ["January", "March", "April", "June", "September", "October", "November"],
    "error": ["500", "502", "ERR_TIMEOUT", "E1043", "403", "SYNC-17", "NullReference"],
    "browser": ["Chrome", "Firefox", "Safari", "Edge"],
    "os": ["Windows 11", "macOS 15", "Ubuntu 24.04", "iOS 19", "Android 16"],
    "feature": ["dark mode", "CSV export", "bulk editing", "a calendar view", "SAML groups", "custom fields", "webhooks"],
    "n": ["2", "3", "5", "12", "40", "200"],
}

SUBJECTS: dict[str, list[str]] = {
    "billing": [
        "Charged twice this month",
        "Question about my invoice",
        "Refund request",
        "Wrong amount on invoice",
        "Payment failed",
        "Update credit card",
        "VAT missing on invoice",
        "Unexpected charge",
        "Cancel renewal and refund",
        "Billing address change",
        "Proration question",
    ],
    "technical": [
        "App crashes on startup",
        "Error {error} when saving",
        "Sync not working",
        "Page will not load",
        "API returns {error}",
        "Export is broken",
        "Very slow performance",
        "Integration stopped working",
        "Bug in {product}",
        "Data not updating",
        "Upload fails",
    ],
    "account": [
        "Cannot log in",
        "Password reset email not arriving",
        "Locked out of my account",
        "Change account owner",
        "Two-factor authentication problem",
        "Delete my account",
        "Add a user to our workspace",
        "Change my email address",
        "SSO login loop",
        "Remove a former employee",
        "Username change",
    ],
    "sales": [
        "Pricing for {n} seats",
        "Upgrade to {plan}",
        "Quote request",
        "Discount for nonprofits",
        "Enterprise plan question",
        "Volume licensing",
        "Trial extension",
        "Talk to sales",
        "Annual vs monthly pricing",
        "Add more licenses",
        "Procurement paperwork",
    ],
    "feedback": [
        "Feature request: {feature}",
        "Suggestion for {product}",
        "Love the new update",
        "Please add {feature}",
        "Idea to improve reports",
        "Feedback on the redesign",
        "Would like {feature}",
        "Small UX suggestion",
        "Compliment for the team",
        "The new layout is confusing",
        "Roadmap question",
    ],
}

ISSUES: dict[str, list[str]] = {
    "billing": [
        "I was charged {amount} twice for the same subscription in {month}.",
        "The invoice for {month} shows {amount} but our {plan} plan should cost less.",
        "Please refund the last payment, we cancelled before the renewal date.",
        "Our card payment was declined although the card is valid, can you retry the charge?",
        "I need to update the credit card on file before the next billing cycle.",
        "The invoice is missing our VAT number and our finance team cannot book it.",
        "There is a charge of {amount} on our statement that I do not recognise.",
        "Can you send a corrected invoice with our new billing address?",
        "We downgraded to {plan} but were still billed for the old plan.",
        "How is the proration calculated when we add seats in the middle of the month?",
        "I would like a receipt for the payment made in {month}.",
        "Our subscription renewed automatically and we want our money back.",
        "The payment page shows an error when I enter the card details for the invoice.",
        "Please switch us from credit card payment to bank transfer invoices.",
    ],
    "technical": [
        "When I click save in {product} I get error {error} and nothing is stored.",
        "The app crashes right after the splash screen on {os}.",
        "Since the last update {product} is extremely slow, pages take a minute to load.",
        "Our integration with the API started returning {error} this morning.",
        "Files larger than 10 MB fail to upload with a timeout.",
        "The CSV export produces an empty file even though the report has rows.",
        "Data entered on the mobile app does not sync to the web version.",
        "In {browser} on {os} the page stays blank after login.",
        "Webhooks stopped firing for new records yesterday.",
        "The charts on the dashboard show yesterday's numbers and do not refresh.",
        "Search returns no results for records I can see in the list.",
        "We get a stack trace with {error} when running the scheduled report.",
        "Notifications are delivered twice to every user since the update.",
        "The desktop client freezes when opening a project with {n} thousand items.",
    ],
    "account": [
        "I cannot log in, it says my password is wrong although I just reset it.",
        "The password reset email never arrives, I checked the spam folder.",
        "My account got locked after too many attempts, please unlock it.",
        "Our previous admin left the company, please transfer ownership of the workspace to me.",
        "I lost my phone and cannot get the two-factor code anymore.",
        "Please delete my account and all my personal data.",
        "How do I invite {n} colleagues to our workspace?",
        "I want to change the email address I use to sign in.",
        "Single sign-on sends me back to the login page in a loop.",
        "Please remove access for a former employee immediately.",
        "Can I change my username without losing my projects?",
        "I get a message that my session expired every few minutes.",
        "We need to add a second administrator to our organisation.",
        "My colleague did not receive the invitation to join the team.",
    ],
    "sales": [
        "We are a team of {n} people, what would the {plan} plan cost us?",
        "Could you send a formal quote for {n} licenses for our procurement team?",
        "Do you offer discounts for nonprofits or schools?",
        "We are considering upgrading to {plan}, what extra features do we get?",
        "Is there a volume discount if we buy {n} seats for a year?",
        "Our trial ends tomorrow, can it be extended by two weeks so we can finish the evaluation?",
        "I would like to talk to someone in sales about an enterprise agreement.",
        "What is the price difference between annual and monthly billing for {plan}?",
        "We want to add {n} more licenses to our contract.",
        "Our procurement department needs a vendor form and security questionnaire before purchase.",
        "Can we get a demo of the {plan} plan for our management?",
        "Do you have reseller or partner pricing?",
        "We are comparing you with a competitor, can you match their offer?",
        "Is an on-premise licence available for large companies?",
    ],
    "feedback": [
        "It would be great to have {feature} in {product}.",
        "Just wanted to say the new update is fantastic, great work.",
        "The new layout makes it harder to find the settings, please reconsider.",
        "Please consider adding {feature}, many of us would use it daily.",
        "A suggestion: let users pin their favourite reports to the top.",
        "The redesign looks clean but the font is too small for me.",
        "Is {feature} on your roadmap for this year?",
        "Your support team was very helpful last week, thank you.",
        "I think keyboard shortcuts would make the editor much faster to use.",
        "It would help if the weekly email summary could be customised.",
        "Love the product, one idea: allow {feature} per project.",
        "The onboarding tour was clear and friendly, nice job.",
        "Could the mobile app get {feature} like the web version?",
        "Small idea: show the total next to each column in reports.",
    ],
}

OPENERS = [
    "Hi,",
    "Hello team,",
    "Hi there,",
    "Good morning,",
    "Dear support,",
    "",
    "Hey,",
    "Hello,",
]
CONTEXT = [
    "We have been customers for {n} years.",
    "We use {product} every day in our team.",
    "This happened on {os} with {browser}.",
    "Our company is on the {plan} plan.",
    "I am writing on behalf of our office manager.",
    "This is the second time I am writing about this.",
    "",
    "",
    "",
]
CLOSERS = ["Thanks.", "Thank you!", "Best regards,", "Cheers,", "Kind regards.", "", "Thanks in advance.", "Regards,"]
# Sentences any ticket may consist of: with one of these alone, only the subject tells the category.
VAGUE = [
    "It is not working as expected, please have a look.",
    "Can someone call me back about this today?",
    "See the subject, this is urgent for us.",
    "We noticed this yesterday and it is blocking our work.",
    "Please advise what we should do.",
    "Same problem as my colleague reported last week.",
]
NAMES = ["Anna", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kemal", "Lena", "Mo"]


@dataclass(frozen=True)
class Shift:
    """A change of the ticket mix: each category's share of the tickets, and how many of them use the
    new vocabulary (`launch_share`: subjects and sentences from `LAUNCH_SUBJECTS` / `LAUNCH_ISSUES`)."""

    name: str
    description: str
    shares: dict[str, float]
    launch_share: float


# After a product launch most tickets are about the new product: technical and billing questions grow,
# and they use its words (gateway, firmware, provisioning, metering), none of which the shipped model's
# training set contains (a unit test checks that none of these words is in the live model's vocabulary).
NEW_PRODUCT_LAUNCH = Shift(
    name="new-product-launch",
    description="Keel Edge launches: 45% technical, 25% billing, 12% account, 10% sales, 8% feedback; "
    "70% of the tickets are about the new product, in words the shipped model never saw",
    shares={"technical": 0.45, "billing": 0.25, "account": 0.12, "sales": 0.10, "feedback": 0.08},
    launch_share=0.7,
)
SHIFTS = {shift.name: shift for shift in (NEW_PRODUCT_LAUNCH,)}

LAUNCH_SLOTS: dict[str, list[str]] = {
    "device": ["Edge gateway", "Edge hub", "sensor bridge", "Edge relay"],
    "firmware": ["4.2.1", "4.3.0-rc2", "5.0.0", "4.2.7"],
    "n": ["8", "16", "64", "250"],
}
LAUNCH_SUBJECTS: dict[str, list[str]] = {
    "technical": [
        "{device} firmware rollout bricked units",
        "OTA flashing hangs",
        "{device} keeps rebooting",
        "Telemetry gaps from {device}",
        "Provisioning certificate rejected",
    ],
    "billing": [
        "Metering credits deducted wrongly",
        "Edge telemetry add-on overbilled",
        "Consumption statement mismatch",
        "Prepaid credits vanished",
    ],
    "account": [
        "Fleet operator role missing",
        "Cannot enrol technician",
        "Device fleet handover to another tenant",
    ],
    "sales": [
        "Bundle {n} {device} units",
        "Distributor margin for Edge",
        "Pilot deployment pricing",
    ],
    "feedback": [
        "Edge onboarding wizard thoughts",
        "Firmware changelog readability",
        "Gateway enclosure design",
    ],
}
LAUNCH_ISSUES: dict[str, list[str]] = {
    "technical": [
        "After flashing firmware {firmware} our {device} units stay offline and the status LED blinks amber.",
        "The OTA rollout to {n} devices hangs at the bootloader stage.",
        "Telemetry from the {device} arrives with gaps of several minutes since the rollout.",
        "Provisioning fails because the device certificate is rejected by the broker.",
        "The {device} reboots every hour and loses its mesh configuration.",
    ],
    "billing": [
        "Metering deducted {n} credits for telemetry that never reached us.",
        "The consumption statement lists gigabytes our {device} fleet did not transmit.",
        "Our prepaid credits vanished overnight after enabling the telemetry add-on.",
        "Usage-based metering doubled although the fleet size stayed constant.",
    ],
    "account": [
        "Our fleet operator role disappeared and technicians cannot enrol devices.",
        "Please hand over the device fleet to our subsidiary's tenant.",
        "A contractor needs read-only access to the fleet console.",
    ],
    "sales": [
        "Could you bundle {n} {device} units with installation for a pilot deployment?",
        "What margin do distributors get on the Edge hardware?",
        "We plan a rollout across {n} warehouses, is there framework pricing?",
    ],
    "feedback": [
        "The Edge onboarding wizard felt smooth, though the firmware changelog is hard to read.",
        "Consider a sturdier gateway enclosure, ours sit in dusty warehouses.",
        "A dark fleet map would suit our night shift.",
    ],
}


def fill(text: str, rng: random.Random, slots: dict[str, list[str]] = SLOTS) -> str:
    for slot, values in slots.items():
        while "{" + slot + "}" in text:
            text = text.replace("{" + slot + "}", rng.choice(values), 1)
    return text


def ticket(category: str, index: int, rng: random.Random) -> dict[str, str]:
    vague = rng.random() < 0.12
    issues = [rng.choice(VAGUE)] if vague else rng.sample(ISSUES[category], k=rng.choice([1, 1, 2]))
    parts = [rng.choice(OPENERS), rng.choice(CONTEXT), *issues]
    # Real tickets wander: some mention another topic in passing.
    if rng.random() < 0.3:
        other = rng.choice([name for name in ISSUES if name != category])
        parts.append("Also, " + rng.choice(ISSUES[other])[0].lower() + rng.choice(ISSUES[other])[1:])
    parts += [rng.choice(CLOSERS), rng.choice(NAMES)]
    return {
        "id": f"{category[:3]}-{index:04d}",
        "subject": fill(rng.choice(SUBJECTS[category]), rng),
        "body": fill(" ".join(part for part in parts if part), rng),
        "label": category,
    }


def launch_ticket(category: str, index: int, rng: random.Random) -> dict[str, str]:
    """A ticket about the launched product: its own subject and sentences, the usual greeting and name."""
    slots = {**SLOTS, **LAUNCH_SLOTS}
    issues = rng.sample(LAUNCH_ISSUES[category], k=rng.choice([1, 1, 2]))
    parts = [rng.choice(OPENERS), *issues, rng.choice(CLOSERS), rng.choice(NAMES)]
    return {
        "id": f"{category[:3]}-launch-{index:04d}",
        "subject": fill(rng.choice(LAUNCH_SUBJECTS[category]), rng, slots),
        "body": fill(" ".join(part for part in parts if part), rng, slots),
        "label": category,
    }


def generate(seed: int = SEED, per_category: int = PER_CATEGORY, shift: Shift | None = None) -> list[dict[str, str]]:
    """per_category tickets of each category (the training set's mix), or, with a shift, as many tickets
    in all split by the shift's shares. The same arguments always give the same tickets."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not security
    if shift is None:
        tickets = [ticket(category, index, rng) for category in ISSUES for index in range(per_category)]
    else:
        tickets = _shifted(shift, per_category * len(ISSUES), rng)
    rng.shuffle(tickets)
    return tickets


def _shifted(shift: Shift, total: int, rng: random.Random) -> list[dict[str, str]]:
    tickets = []
    for category in ISSUES:
        for index in range(round(total * shift.shares.get(category, 0.0))):
            made = launch_ticket(category, index, rng) if rng.random() < shift.launch_share else ticket(category, index, rng)
            # Shifted sets never reuse a training id (the training split is chosen by a hash of the id).
            tickets.append({**made, "id": f"{shift.name}-{made['id']}"})
    return tickets


def ticket_created(ticket: dict[str, str], number: int, at: str) -> dict[str, Any]:
    """A generated ticket as the helpdesk puts it on the keel bus ("Ticket Created", contract ticket_created@1);
    its label stays out: the label is what a reviewer would answer."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"keel-synthetic-ticket/{ticket['id']}/{number}")),
        "detail-type": "Ticket Created",
        "source": "keel.support",
        "account": "111111111111",
        "time": at,
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "ticket_id": f"TCK-{number:06d}",
            "subject": ticket["subject"][:200],
            "body": ticket["body"],
            "customer": {"id": f"cus_{number:04d}", "tier": "standard"},
            "channel": "email",
            "created_at": at,
        },
    }
