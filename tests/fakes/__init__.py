"""Local stand-ins for Apple's and Google's push services, for tests and benchmarks. They speak
the real protocols on 127.0.0.1, so the real aioapns and pyfcm client code runs against them."""
