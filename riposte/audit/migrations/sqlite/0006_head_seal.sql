-- The chain head's seal, demanded from here on. A check with the audit key now always demands
-- the head's seal (riposte.audit.chain.head_mac, over seq, hash and keyed_from), also while the
-- store claims no keyed event: a chain re-chained without the key under a keyed_from moved past
-- its end (a downgrade) no longer verifies. Appends carry the seal forward only from a head that
-- carried it.
--
-- A store keyed by 0002 with nothing appended since has a head without a seal (mac ''), whether
-- 0002 ran in this open, in an earlier one without the key, or under an earlier Riposte. Such a
-- head, and only one with no keyed event yet (seq just before keyed_from), is marked here as
-- awaiting its seal; an opener holding the audit key seals it (riposte.audit.chain.upgrade_seal):
-- in this same transaction if this opener holds it, else the first one that does.
--
-- That seal is a one-time trust at upgrade: the head and keyed_from found here are sealed as
-- they are, with no proof that Riposte wrote them. Someone who could write the database before
-- the upgrade, or who puts the mark back later, gets their head sealed; a checkpoint taken
-- before (`riposte audit checkpoint` records keyed_from) still catches it.

UPDATE audit_head SET mac = 'awaiting-seal'
WHERE mac = '' AND seq + 1 = (SELECT keyed_from FROM audit_keying);
