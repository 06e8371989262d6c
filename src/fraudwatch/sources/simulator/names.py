"""Built-in name lists in the style of the Faker data behind the Kaggle (Sparkov) files.

Customers get common US first and last names; merchants are Faker ``company`` names built
from the longer Faker ``en`` surname list (Kirlin, Sporer-Keebler, "Kub, Heaney and
Schowalter"); jobs come from Faker's job list, which is why some of them contain commas.
"""

from __future__ import annotations

FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Nancy", "Lisa", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly",
    "Emily", "Donna", "Michelle", "Dorothy", "Carol", "Amanda", "Melissa", "Deborah",
    "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia", "Kathleen", "Amy", "Shirley",
    "Angela", "Helen", "Anna", "Brenda", "Pamela", "Nicole", "Emma", "Samantha", "Katherine",
    "Christine", "Debra", "Rachel", "Catherine", "Carolyn", "Janet", "Ruth", "Maria",
    "Heather", "Diane", "Virginia", "Julie", "Joyce", "Victoria", "Olivia", "Kelly",
    "Christina", "Lauren", "Joan", "Evelyn", "Judith", "Megan", "Cheryl", "Andrea", "Hannah",
    "Martha", "Jacqueline", "Frances", "Gloria", "Ann", "Teresa", "Kathryn", "Sara", "Janice",
    "Jean", "Alice", "Madison", "Doris", "Abigail", "Julia", "Judy", "Grace", "Denise",
    "Amber", "Marilyn", "Beverly", "Danielle", "Theresa", "Sophia", "Marie", "Diana",
    "Brittany", "Natalie", "Isabella", "Charlotte", "Rose", "Alexis", "Kayla", "Joanne",
    "Tina", "Tammy", "Krystal", "Stacy", "Jodi", "Rita", "Darlene", "Kristen", "Erica",
)  # fmt: skip

MALE_FIRST_NAMES: tuple[str, ...] = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
    "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven",
    "Paul", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald",
    "Edward", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan",
    "Stephen", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory",
    "Alexander", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Jerry", "Tyler", "Aaron",
    "Jose", "Adam", "Nathan", "Henry", "Douglas", "Zachary", "Peter", "Kyle", "Ethan",
    "Walter", "Noah", "Jeremy", "Christian", "Keith", "Roger", "Terry", "Gerald", "Harold",
    "Sean", "Austin", "Carl", "Arthur", "Lawrence", "Dylan", "Jesse", "Jordan", "Bryan",
    "Billy", "Joe", "Bruce", "Gabriel", "Logan", "Albert", "Willie", "Alan", "Juan", "Wayne",
    "Elijah", "Randy", "Roy", "Vincent", "Ralph", "Eugene", "Russell", "Bobby", "Mason",
    "Philip", "Louis", "Jeff", "Travis", "Evan", "Craig", "Shane", "Marcus", "Derek",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
    "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
    "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson",
    "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez",
    "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
    "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz",
    "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim",
    "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett",
    "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Patel",
    "Myers", "Long", "Ross", "Foster", "Jimenez", "Elliott", "Marsh", "Weaver", "Hess",
    "Franklin", "Mckenzie", "Walsh", "Stacy", "Abbott", "Black", "Russell", "Hart", "Wade",
)  # fmt: skip

#: Faker ``en`` surnames: the raw material of Sparkov merchant names.
COMPANY_SURNAMES: tuple[str, ...] = (
    "Abbott", "Abernathy", "Abshire", "Altenwerth", "Ankunding", "Armstrong", "Auer",
    "Bahringer", "Balistreri", "Barrows", "Bartell", "Bartoletti", "Bashirian", "Batz",
    "Bauch", "Baumbach", "Bayer", "Beahan", "Beatty", "Bechtelar", "Becker", "Bednar", "Beer",
    "Beier", "Bergnaum", "Bergstrom", "Bernhard", "Bernier", "Blanda", "Blick", "Block",
    "Bode", "Boehm", "Bogan", "Bogisich", "Borer", "Bosco", "Botsford", "Boyer", "Bradtke",
    "Brakus", "Breitenberg", "Brekke", "Bruen", "Buckridge", "Cartwright", "Casper", "Cassin",
    "Champlin", "Christiansen", "Collier", "Connelly", "Conroy", "Considine", "Corkery",
    "Cormier", "Corwin", "Cremin", "Crist", "Crona", "Cronin", "Crooks", "Cruickshank",
    "Cummerata", "D'Amore", "Dach", "Daugherty", "Deckow", "Denesik", "Dibbert", "Dickens",
    "Dickinson", "Dietrich", "Donnelly", "Dooley", "DuBuque", "Durgan", "Ebert", "Effertz",
    "Eichmann", "Emard", "Emmerich", "Erdman", "Ernser", "Fadel", "Fahey", "Feeney", "Feest",
    "Feil", "Flatley", "Frami", "Franecki", "Friesen", "Fritsch", "Gaylord", "Gerhold",
    "Gerlach", "Gislason", "Gleason", "Gleichner", "Goldner", "Gorczany", "Gottlieb",
    "Goyette", "Greenfelder", "Greenholt", "Gulgowski", "Gusikowski", "Gutkowski", "Gutmann",
    "Haag", "Hackett", "Hagenes", "Halvorson", "Hamill", "Hammes", "Hane", "Harber",
    "Hartmann", "Hauck", "Heaney", "Heathcote", "Hegmann", "Heidenreich", "Hermann",
    "Hermiston", "Herzog", "Hessel", "Hettinger", "Hickle", "Hilll", "Hilpert", "Hintz",
    "Hirthe", "Hodkiewicz", "Hoeger", "Homenick", "Hoppe", "Howell", "Huel", "Huels",
    "Jacobi", "Jakubowski", "Jaskolski", "Jast", "Jerde", "Kassulke", "Kautzer", "Keebler",
    "Keeling", "Kemmer", "Kerluke", "Kertzmann", "Kiehn", "Kihn", "Kilback", "Kirlin",
    "Klocko", "Koelpin", "Koepp", "Konopelski", "Koss", "Kovacek", "Kozey", "Krajcik",
    "Kreiger", "Kshlerin", "Kub", "Kuhic", "Kuhlman", "Kuhn", "Kunde", "Kunze", "Kuphal",
    "Kutch", "Kuvalis", "Labadie", "Lakin", "Langosh", "Langworth", "Leannon", "Lebsack",
    "Ledner", "Leffler", "Legros", "Lehner", "Lemke", "Lesch", "Leuschke", "Lindgren",
    "Littel", "Lockman", "Lubowitz", "Lueilwitz", "Luettgen", "Macejkovic", "Maggio",
    "Mante", "Marquardt", "Marvin", "Mayert", "McClure", "McCullough", "McDermott",
    "McGlynn", "McLaughlin", "Medhurst", "Mertz", "Mohr", "Monahan", "Morar", "Morissette",
    "Mosciski", "Mraz", "Murazik", "Nader", "Nienow", "Nikolaus", "Nitzsche", "Oberbrunner",
    "O'Connell", "O'Conner", "O'Hara", "O'Keefe", "O'Kon", "O'Reilly", "Okuneva", "Ondricka",
    "Osinski", "Pacocha", "Padberg", "Pagac", "Parisian", "Paucek", "Pfannerstill",
    "Pfeffer", "Pollich", "Pouros", "Powlowski", "Predovic", "Prohaska", "Prosacco", "Purdy",
    "Quigley", "Quitzon", "Rath", "Ratke", "Reichel", "Reichert", "Reinger", "Rempel",
    "Renner", "Rippin", "Robel", "Rogahn", "Rohan", "Rolfson", "Romaguera", "Roob",
    "Rosenbaum", "Rowe", "Ruecker", "Runolfsdottir", "Runte", "Rutherford", "Sanford",
    "Satterfield", "Sauer", "Sawayn", "Schaden", "Schamberger", "Schiller", "Schimmel",
    "Schinner", "Schmeler", "Schoen", "Schowalter", "Schulist", "Schumm", "Schuppe",
    "Senger", "Shanahan", "Simonis", "Sipes", "Skiles", "Smitham", "Spinka", "Sporer",
    "Stamm", "Stehr", "Steuber", "Stiedemann", "Stoltenberg", "Stracke", "Streich",
    "Stroman", "Strosin", "Swaniawski", "Thiel", "Tillman", "Torp", "Torphy", "Towne",
    "Trantow", "Tremblay", "Treutel", "Tromp", "Turcotte", "Ullrich", "Upton", "Vandervort",
    "Veum", "Volkman", "VonRueden", "Waelchi", "Watsica", "Wehner", "Weimann", "Weissnat",
    "Wiegand", "Wilderman", "Willms", "Windler", "Wintheiser", "Wisoky", "Wisozk", "Witting",
    "Wiza", "Wuckert", "Wunsch", "Wyman", "Yost", "Yundt", "Zboncak", "Zemlak", "Ziemann",
    "Zieme", "Zulauf",
)  # fmt: skip

#: Endings of single-surname Faker company names ("Kirlin and Sons", "Haley Group").
COMPANY_SUFFIXES: tuple[str, ...] = ("Inc", "LLC", "Group", "PLC", "Ltd", "and Sons")

STREET_SUFFIXES: tuple[str, ...] = (
    "Alley", "Avenue", "Bridge", "Brook", "Burg", "Bypass", "Camp", "Canyon", "Cape",
    "Center", "Circle", "Cliffs", "Club", "Common", "Corner", "Course", "Court", "Cove",
    "Creek", "Crescent", "Crest", "Crossing", "Curve", "Dale", "Dam", "Divide", "Drive",
    "Estates", "Expressway", "Extension", "Fall", "Ferry", "Field", "Flat", "Ford",
    "Forest", "Forge", "Fork", "Fort", "Freeway", "Garden", "Gateway", "Glen", "Glens",
    "Green", "Grove", "Harbor", "Haven", "Heights", "Highway", "Hill", "Hills", "Hollow",
    "Island", "Isle", "Junction", "Key", "Keys", "Knoll", "Lake", "Lakes", "Land", "Landing",
    "Lane", "Light", "Lights", "Loaf", "Lock", "Lodge", "Loop", "Manor", "Meadow", "Mews",
    "Mill", "Mission", "Motorway", "Mount", "Mountain", "Neck", "Orchard", "Oval", "Park",
    "Parkway", "Pass", "Path", "Pike", "Pine", "Pines", "Place", "Plain", "Plains", "Plaza",
    "Point", "Port", "Prairie", "Radial", "Ranch", "Rapids", "Rest", "Ridge", "River",
    "Road", "Roads", "Route", "Row", "Run", "Shoal", "Shore", "Shores", "Skyway", "Spring",
    "Springs", "Square", "Station", "Stravenue", "Stream", "Street", "Summit", "Terrace",
    "Throughway", "Trace", "Track", "Trail", "Tunnel", "Turnpike", "Union", "Valley",
    "Via", "Viaduct", "View", "Views", "Village", "Ville", "Vista", "Walk", "Walks", "Way",
    "Well", "Wells",
)  # fmt: skip

#: Faker's job titles (UK-flavoured, as in the Kaggle files); several contain commas.
JOBS: tuple[str, ...] = (
    "Mechanical engineer", "Sales professional, IT", "Librarian, public", "Set designer",
    "Furniture designer", "Psychotherapist", "Therapist, occupational",
    "Development worker, international aid", "Advice worker", "Barrister",
    "Pensions consultant", "Freight forwarder", "Paramedic", "Building surveyor",
    "Materials engineer", "Town planner", "Radiographer, therapeutic",
    "Surveyor, rural practice", "Energy manager", "Prison officer", "Media planner",
    "Seismic interpreter", "Learning disability nurse", "Buyer, industrial",
    "Scientist, biomedical", "Audiological scientist", "Stage manager",
    "Community pharmacist", "Risk analyst", "Clinical research associate",
    "Editor, magazine features", "Musician", "Designer, furniture",
    "Accountant, chartered public finance", "Administrator, education", "Airline pilot",
    "Animal nutritionist", "Architect", "Art therapist", "Chief Executive Officer",
    "Chemical engineer", "Civil engineer, contracting", "Colour technologist",
    "Copywriter, advertising", "Dance movement psychotherapist", "Dietitian",
    "Engineer, biomedical", "Environmental consultant", "Exhibition designer",
    "Film/video editor", "Financial adviser", "Fisheries officer", "Geologist, engineering",
    "Health visitor", "Hydrologist", "IT trainer", "Immunologist", "Insurance underwriter",
    "Journalist, newspaper", "Land/geomatics surveyor", "Lecturer, further education",
    "Magazine journalist", "Market researcher", "Medical sales representative",
    "Naval architect", "Nurse, children's", "Optometrist", "Physiotherapist", "Podiatrist",
    "Police officer", "Product designer", "Programmer, multimedia", "Quantity surveyor",
    "Research scientist (physical sciences)", "Secondary school teacher",
    "Systems developer", "Teacher, primary school", "Tourism officer",
    "Trading standards officer", "Veterinary surgeon", "Water engineer",
    "Wellsite geologist", "Writer", "Geophysicist/field seismologist",
    "Historic buildings inspector/conservation officer", "Museum/gallery exhibitions officer",
)  # fmt: skip
