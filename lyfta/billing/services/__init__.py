"""The economy desk's writes and the derivations the billing run rests on."""
