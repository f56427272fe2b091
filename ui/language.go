package ui

// Languages are the languages the screen speaks, as the primary subtags
// of BCP 47 tags: every line it draws is English. A configuration
// profile asking for another is rejected by the kit, not half-applied.
var Languages = []string{"en"}
