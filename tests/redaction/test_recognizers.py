"""Table-driven recognizer cases: (text, entity type, the exact span that must be found)."""

from __future__ import annotations

import pytest

BANK = [
    ("card 4111 1111 1111 1111 please", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("card 4111-1111-1111-1111", "CREDIT_CARD", "4111-1111-1111-1111"),
    ("card 4111.1111.1111.1111", "CREDIT_CARD", "4111.1111.1111.1111"),
    ("card 4111  1111  1111  1111 exp 12/27", "CREDIT_CARD", "4111  1111  1111  1111"),
    ("amex 3782 822463 10005", "CREDIT_CARD", "3782 822463 10005"),
    ("card 4111\u200b1111\u200b1111\u200b1111", "CREDIT_CARD", "4111\u200b1111\u200b1111\u200b1111"),
    ("card \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11", "CREDIT_CARD",
     "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11"),
    ("iban GB82 WEST 1234 5698 7654 32 thanks", "IBAN_CODE", "GB82 WEST 1234 5698 7654 32"),
    ("iban gb82west12345698765432", "IBAN_CODE", "gb82west12345698765432"),
    ("DE89-3704-0044-0532-0130-00", "IBAN_CODE", "DE89-3704-0044-0532-0130-00"),
    ("routing number 021000021", "ABA_ROUTING_NUMBER", "021000021"),
    ("my ssn is 123-45-6789", "US_SSN", "123-45-6789"),
    ("social security 123 45 6789", "US_SSN", "123 45 6789"),
    ("account number 12345678901", "BANK_ACCOUNT", "12345678901"),
    ("swift DEUTDEFF500", "SWIFT_CODE", "DEUTDEFF500"),
    ("cvv 123", "CVV", "123"),
    ("the security code on the back is 4831", "CVV", "4831"),
    ("my pin is 4821", "PIN", "4821"),
    ("dob 12/03/1984", "DATE_OF_BIRTH", "12/03/1984"),
    ("I was born on March 12, 1984", "DATE_OF_BIRTH", "March 12, 1984"),
    ("email me at jane.doe@example.com", "EMAIL_ADDRESS", "jane.doe@example.com"),
    ("call (212) 555-0143", "PHONE_NUMBER", "(212) 555-0143"),
    ("my name is sean o'neil", "PERSON", "sean o'neil"),
    ("MARY-JANE WATSON here", "PERSON", "MARY-JANE WATSON"),
    ("hi im oluwaseun oyelaran", "PERSON", "oluwaseun oyelaran"),
    ("I moved to 221 Baker Street", "ADDRESS", "221 Baker Street"),
    # SWIFT/BIC read out in groups, any case
    ("send it with swift EJHF NL GD XXX please", "SWIFT_CODE", "EJHF NL GD XXX"),
    ("send it with swift fjpy ch yw xxx please", "SWIFT_CODE", "fjpy ch yw xxx"),
    ("BIC: ieoq de g7", "SWIFT_CODE", "ieoq de g7"),
    # cards: Luhn and 12-19 digits, no issuer-prefix list
    ("my maestro card 6759 6498 2648", "CREDIT_CARD", "6759 6498 2648"),
    ("card 180012345678905 please", "CREDIT_CARD", "180012345678905"),
    # a context-cued identifier beats a phone number
    ("my account number is 357551471898", "BANK_ACCOUNT", "357551471898"),
    # names in capitals, rare given names, a middle initial
    ("this is HIROSHI VASQUEZ, I need help", "PERSON", "HIROSHI VASQUEZ"),
    ("please book it for JEAN-BAPTISTE BRANNIGAN.", "PERSON", "JEAN-BAPTISTE BRANNIGAN"),
    ("hi, I'm EBENEZER D'SOUZA", "PERSON", "EBENEZER D'SOUZA"),
    ("my name is dmitri garcia-marquez", "PERSON", "dmitri garcia-marquez"),
    ("Maybe it is under Elita B Desaulniers", "PERSON", "Elita B Desaulniers"),
    # phones libphonenumber cannot place, after a phone word
    ("call me on (37) 788-063 please", "PHONE_NUMBER", "(37) 788-063"),
    ("Phone: 60-56-85-91", "PHONE_NUMBER", "60-56-85-91"),
    # street addresses written the European way, with the lines after them
    ("Tomomi lives at 86036 Rua do Arenque 1634, Goi\u00e2nia", "ADDRESS", "86036 Rua do Arenque 1634, Goi\u00e2nia"),
    ("William Hughes\n\n20789 Allika 46\n Suite 501\n Riisa\n\n Estonia 62488", "ADDRESS",
     "20789 Allika 46\n Suite 501\n Riisa\n\n Estonia 62488"),
    ("my new address is PSC 6293, Box 8158\nAPO AP 04336", "ADDRESS", "PSC 6293, Box 8158\nAPO AP 04336"),
    # surnames in a coordinated list; a name cue after the name
    ("the shop belongs to Halvorsen, Becker and Vasquez now", "PERSON", "Becker"),
    ("the shop belongs to Halvorsen, Becker and Vasquez now", "PERSON", "Halvorsen"),
    ("Oksana lives on Hauptstrasse near the station", "PERSON", "Oksana"),
    ("people call me Csanád", "PERSON", "Csanád"),
    # a birth date after its cue, whole: 'march 12th 84' (not 'march 1' and '2th 84' left), spaced digits
    ("my date of birth is march 12th 84", "DATE_OF_BIRTH", "march 12th 84"),
    ("born 12 03 1984", "DATE_OF_BIRTH", "12 03 1984"),
    # holder and booking cues, lower case too (bench/leak_matrix found the first one)
    ("the account holder is ebenezer hiroshi okonkwo", "PERSON", "ebenezer hiroshi okonkwo"),
    ("it's booked under the name nguyen", "PERSON", "nguyen"),
    # phone cue: a desk line with an extension, one long group
    ("Desk: +1-903-140-4508x769", "PHONE_NUMBER", "+1-903-140-4508x769"),
    ("Mobile: 0341 8387176", "PHONE_NUMBER", "0341 8387176"),
    # address blocks run over repeated units, regions, postcodes and the country
    ("send it to 17224 Brekkugata 66 Suite 991 Suite 636, Gdańsk, Poland 52096 please", "ADDRESS",
     "17224 Brekkugata 66 Suite 991 Suite 636, Gdańsk, Poland 52096"),
    ("6076 Piroska u. 97.\nPorto Alegre\n, RS\n Brazil 95828", "ADDRESS",
     "6076 Piroska u. 97.\nPorto Alegre\n, RS\n Brazil 95828"),
    ("meet me at the corner of Pachergasse 64 and Radolič Harbor", "ADDRESS", "the corner of Pachergasse 64 and Radolič Harbor"),
    # street words of other languages before the house number
    ("Timotea lives on Via dei Fiorentini 17 now", "ADDRESS", "Via dei Fiorentini 17"),
    ("send it to ul. Miła 53 please", "ADDRESS", "ul. Miła 53"),
    # an address typed all in lower case
    ("my address is 2613 avenida praia 1 suite 463, mohács, hungary 24743", "ADDRESS",
     "2613 avenida praia 1 suite 463, mohács, hungary 24743"),
    # places by name (bank policy redacts LOCATION; the airline policy does not)
    ("I'm in HELSINKI this week", "LOCATION", "HELSINKI"),
    ("I paid my bills when I lived in Kvaløysletta", "LOCATION", "Kvaløysletta"),  # a strong cue wins
    ("Maha Cazares\n\nChiclana de la Frontera\nSpain", "LOCATION", "Chiclana de la Frontera\nSpain"),
]

# A validator that rejects a value lowers its score; after a cue the value is still redacted.
CUED_INVALID = [
    ("my ssn is 078-05-1120", "US_SSN", "078-05-1120"),  # python-stdnum's blacklist (Woolworth's card)
    ("ssn: 219-09-9999", "US_SSN", "219-09-9999"),  # void sample number
    ("social security 000-12-3456", "US_SSN", "000-12-3456"),  # area 000 is never issued
    ("card 4111 1111 1111 1112 please", "CREDIT_CARD", "4111 1111 1111 1112"),  # Luhn fails: a typo
    ("routing 021000022", "ABA_ROUTING_NUMBER", "021000022"),  # checksum fails
    ("my iban is DE89 3704 0044 0532 0130 01", "IBAN_CODE", "DE89 3704 0044 0532 0130 01"),  # mod-97 fails
    ("swift ABCDXX2L", "SWIFT_CODE", "ABCDXX2L"),  # no country XX
]

# Bare identifiers in their standard formats, no cue (stock Presidio finds these too).
BARE = [
    ("it's 536-22-1234", "US_SSN", "536-22-1234"),
    ("536 22 1234 is the one", "US_SSN", "536 22 1234"),
    ("it's 912-70-1234", "US_ITIN", "912-70-1234"),
    ("use 021000021 for it", "ABA_ROUTING_NUMBER", "021000021"),
    ("use 0210-0002-1 for it", "ABA_ROUTING_NUMBER", "0210-0002-1"),
    ("IT60X0542811101000000123456 is mine", "IBAN_CODE", "IT60X0542811101000000123456"),
]

NOT_FOUND = [
    # an IBAN's country code, check digits and length, but words after them (the airline's reply)
    ("I can't find UA123 in our schedule. I can only see Northwind Airways (NW) flights", "IBAN_CODE"),
    # a merchant after 'payment ... at' or 'charge at' is not a place (the weak place cue)
    ("We held a payment of $899.00 at ElectroMart Online on your card", "LOCATION"),
    ("the $98.11 charge at H-E-B on Mon 30 Nov", "LOCATION"),
    ("The $219.99 payment at QuickFlights will go through", "LOCATION"),
    # timestamps and IP addresses are not phone numbers
    ("Date: 1978-04-13 12:20:39", "PHONE_NUMBER"),
    ("keep getting address 195.206.132.199 blocked", "PHONE_NUMBER"),
    # look-alikes of bare identifiers that stock Presidio rejects too
    ("it's 000-12-3456", "US_SSN"),
    ("it's 666-12-3456", "US_SSN"),
    ("it's 123-45-6789", "US_SSN"),
    ("it's 536-00-1234", "US_SSN"),
    ("use 021000022 for it", "ABA_ROUTING_NUMBER"),
    ("order 123456780 arrived", "ABA_ROUTING_NUMBER"),
    # an MRZ line is not a bare routing number
    ("P<FRAHARGREAVES<<SEAN<<<<\nM357850039FRA9405170F3002186<<<<", "ABA_ROUTING_NUMBER"),
]

# Passport numbers after a cue in other languages.
PASSPORT_I18N = [
    ("mi número de pasaporte es XDA123456", "XDA123456"),
    ("pasaporte: PAA123456", "PAA123456"),
    ("Meine Reisepassnummer ist C01X00T47", "C01X00T47"),
    ("Mein Pass-Nr. ist C01X00T47", "C01X00T47"),
    ("Reisepass C01X00T47", "C01X00T47"),
    ("여권번호는 M12345678입니다", "M12345678"),
    ("여권 번호: M12345678", "M12345678"),
    ("제 여권은 M12345678 입니다", "M12345678"),
]

AIRLINE = [
    ("booking reference X7K9QP", "BOOKING_REFERENCE", "X7K9QP"),
    ("my booking ref is xkqpzt", "BOOKING_REFERENCE", "xkqpzt"),
    ("e-ticket 016 234567890 1", "TICKET_NUMBER", "016 234567890 1"),
    ("passport number 123456789", "PASSPORT", "123456789"),
    ("passport no AB-482-913", "PASSPORT", "AB-482-913"),
    ("P<GBRNGUYEN<<THI<MAI<<<<<<<<<<<<<<<<<<<<<<<<", "PASSPORT_MRZ", "P<GBRNGUYEN<<THI<MAI<<<<<<<<<<<<<<<<<<<<<<<<"),
    ("frequent flyer number XK482913", "FREQUENT_FLYER", "XK482913"),
    ("known traveler number 158830274", "KNOWN_TRAVELER_NUMBER", "158830274"),
    ("redress number 7312816", "REDRESS_NUMBER", "7312816"),
    # booking references and passports read out in groups, letters-only groups included
    ("can you look up reservation 8pr xee?", "BOOKING_REFERENCE", "8pr xee"),
    ("confirmation code 6GY MAN, need to change seats", "BOOKING_REFERENCE", "6GY MAN"),
    ("Passport: K00  JKZ  2F0", "PASSPORT", "K00  JKZ  2F0"),
    ("my passport number is g8y pgy x3y, thanks", "PASSPORT", "g8y pgy x3y"),
    # the cue 'membership' is not part of the value; the dash is
    ("Executive Club membership QE6-XRPD", "FREQUENT_FLYER", "QE6-XRPD"),
    ("frequent flier no. 7432153430, missing miles", "FREQUENT_FLYER", "7432153430"),
    ("0813433821807 is my ticket number", "TICKET_NUMBER", "0813433821807"),
]

KEEP = [
    ("I paid $45.20 yesterday at Starbucks", ["$45.20", "yesterday", "Starbucks"]),
    ("card ending 4242 please", ["4242"]),
    ("flight UA 123 from JFK to LHR, seat 14C, gate B22", ["UA 123", "JFK", "LHR", "14C", "B22"]),
    ("move 1,200 dollars from savings to checking", ["1,200", "savings", "checking"]),
    ("order number 123456781 arrived", ["123456781"]),
    ("reference 20240312-0045 for the wire, sent at 10:45", ["20240312-0045", "10:45"]),
    ("is row 2 in first class a window seat on AA100?", ["row 2", "first class", "AA100"]),
    ("where do I find my booking reference?", ["booking reference"]),
    ("I paid 250 dollars on 12 March", ["250 dollars", "12 March"]),
    ("my flight is BA 117 to JFK on 3 June, seat 22A", ["BA 117", "JFK", "3 June", "22A"]),
    ("my flight 405 departs 7:15 am from terminal 4", ["405", "7:15", "terminal 4"]),
    ("card 4111 1111 1111 1111 cvv 123", ["card", "cvv"]),
]

# Cities and airlines an airline bot needs, in lists too (the surname-list pass must leave them).
KEEP_AIRLINE = [
    ("can I fly from London and Paris to JFK tomorrow?", ["London", "Paris", "JFK"]),
    ("UA 123 from Frankfurt and Zurich, seat 14C", ["Frankfurt", "Zurich", "UA 123", "14C"]),
    ("trips to Dallas, Austin and Denver next month", ["Dallas", "Austin", "Denver"]),
    ("I'm in HELSINKI, then Oslo and Bergen on LH 400", ["HELSINKI", "Oslo", "Bergen", "LH 400"]),
    ("I paid 45.00 at Starbucks and Amazon yesterday", ["45.00", "Starbucks", "Amazon", "yesterday"]),
]


@pytest.mark.parametrize(("text", "entity", "span"), CUED_INVALID + BARE)
def test_cued_invalid_and_bare_identifiers_are_found(bank_redactor, text, entity, span):  # type: ignore[no-untyped-def]
    found = [(f.entity_type, text[f.start : f.end]) for f in bank_redactor.redact(text).findings]
    assert (entity, span) in found


@pytest.mark.parametrize(("text", "value"), PASSPORT_I18N)
def test_passport_cues_in_other_languages(airline_redactor, text, value):  # type: ignore[no-untyped-def]
    out = airline_redactor.redact(text)
    assert [(f.entity_type, text[f.start : f.end]) for f in out.findings] == [("PASSPORT", value)]


def test_a_loyalty_number_after_card_is_not_a_mistyped_card(airline_redactor):  # type: ignore[no-untyped-def]
    # the cue 'card' makes a Luhn-failing number a card only if nothing better explains it
    text = "Miles & More card 992 0012 3456 7890"
    assert [f.entity_type for f in airline_redactor.redact(text).findings] == ["FREQUENT_FLYER"]


@pytest.mark.parametrize(("text", "entity"), NOT_FOUND)
def test_bank_pack_does_not_find(bank_redactor, text, entity):  # type: ignore[no-untyped-def]
    assert entity not in [f.entity_type for f in bank_redactor.redact(text).findings]


@pytest.mark.parametrize(("text", "keep"), KEEP_AIRLINE)
def test_airline_keeps_places(airline_redactor, text, keep):  # type: ignore[no-untyped-def]
    out = airline_redactor.redact(text).text
    for value in keep:
        assert value in out


@pytest.mark.parametrize(("text", "entity", "span"), BANK)
def test_bank_pack_finds(bank_redactor, text, entity, span):  # type: ignore[no-untyped-def]
    found = [(f.entity_type, text[f.start : f.end]) for f in bank_redactor.redact(text).findings]
    assert (entity, span) in found


@pytest.mark.parametrize(("text", "entity", "span"), AIRLINE)
def test_airline_pack_finds(airline_redactor, text, entity, span):  # type: ignore[no-untyped-def]
    found = [(f.entity_type, text[f.start : f.end]) for f in airline_redactor.redact(text).findings]
    assert (entity, span) in found


@pytest.mark.parametrize(("text", "keep"), KEEP)
def test_values_a_bot_needs_stay(bank_redactor, airline_redactor, text, keep):  # type: ignore[no-untyped-def]
    for redactor in (bank_redactor, airline_redactor):
        out = redactor.redact(text).text
        for value in keep:
            assert value in out


def test_same_message_twice_gives_the_same_findings(bank_redactor):  # type: ignore[no-untyped-def]
    text = "my name is Priya Castellanos, card 4111 1111 1111 1111"
    first = bank_redactor.redact(text)
    second = bank_redactor.redact(text)
    assert first.findings == second.findings and first.text == second.text
    assert bank_redactor.redact_many([text, text])[1].text == first.text


@pytest.mark.parametrize(
    ("text", "needs_ner"),
    [
        ("what's my current balance please", False),
        ("Can I get a refund for the cancelled flight to friday? Thanks", False),
        ("my flight UA 123 got delayed", False),
        ("I live in Paris", True),
        ("i'm priya and my card was declined", True),
        ("Thanks, Sarah", True),
        ("please send it to London", True),
    ],
)
def test_ner_is_skipped_only_when_it_cannot_find_anything(bank_redactor, text, needs_ner):  # type: ignore[no-untyped-def]
    assert bank_redactor.detector._needs_ner(text) is needs_ner
