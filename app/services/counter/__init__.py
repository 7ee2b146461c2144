"""The counter: a typed or scanned code looked up under the code-entry lock, the hand-over
(whole, partial, undone) proved and redeemed once, and the offline manifest and sync of the
phone scanner."""
