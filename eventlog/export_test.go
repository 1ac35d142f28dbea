package eventlog

// FetchedOnDemand counts the records CaughtUp fetched itself, by reader.
var FetchedOnDemand = fetchedOnDemand
