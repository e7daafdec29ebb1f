module ray101.local/runc-caps

go 1.22
