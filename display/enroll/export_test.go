package enroll

// ValidOpenForTest exposes validOpen to the external tests.
var ValidOpenForTest = validOpen
