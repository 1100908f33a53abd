-- The month's spend counter: 64 slots, the slot of a finish chosen by its connection (issue 8's fan-out bench).
-- With 16 slots chosen at random, the 48 parallel finishes of a fan-out still met on shared slots and waited
-- for each other's commits (server-side sampling: the finish statement's largest wait, on transactionid). A
-- connection runs one transaction at a time, so finishes on different connections whose backend pids differ
-- modulo 64 never share a slot. The month's spend is still the sum of its slots; existing rows stay valid.
ALTER TABLE workspace_spend DROP CONSTRAINT workspace_spend_slot_check;
ALTER TABLE workspace_spend ADD CONSTRAINT workspace_spend_slot_check CHECK (slot >= 0 AND slot < 64);
